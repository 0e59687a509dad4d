//! Sitemaps: reading `Sitemap:` lines of robots.txt, sitemap indexes and
//! urlsets (plain, `.xml.gz`, or gzip-encoded), within bounds.
//!
//! Owns: what a sitemap request is ([`SitemapRole`], carried by
//! [`Request::sitemap`](crate::Request::sitemap)), turning its body into
//! entries ([`read`]: gunzip if the bytes are gzip, then XML with
//! quick-xml or a text sitemap of one URL per line; on a worker thread
//! when the body is large or gzip), the bounds against
//! hostile sitemaps ([`SitemapLimits`]: bytes after decompression, URLs
//! per sitemap, nesting of indexes, URLs of the whole crawl — a count
//! the engine keeps for [`expand`]), and [`SitemapRules`], Scrapy's
//! `sitemap_rules`: which callback parses a page found in a sitemap.
//! Must not: fetch (a sitemap is a request like any other and goes
//! through the frontier — scope, robots.txt, politeness), or decide
//! whether an entry is crawled (the frontier does).

use std::cell::Cell;
use std::io::Read;
use std::time::SystemTime;

use regex::Regex;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::Config;
use crate::request::Request;
use crate::spider::{Output, Spider};

/// What a sitemap request fetches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SitemapRole {
    /// A robots.txt, read for its `Sitemap:` lines only.
    Robots,
    /// A sitemap (an index or a urlset); `nesting` counts the indexes
    /// that led to it (0: given, or listed in robots.txt).
    Sitemap {
        /// Indexes above this sitemap.
        nesting: u32,
    },
}

/// Bounds on what sitemaps may make the crawler do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SitemapLimits {
    /// Bytes of one sitemap after decompression (the protocol's limit is
    /// 50 MiB); past it the rest is not read (`too_big`).
    pub max_bytes: usize,
    /// Entries read from one sitemap (the protocol's limit is 50,000);
    /// the rest are skipped (`too_many_urls`).
    pub max_urls: usize,
    /// Page URLs taken from all sitemaps of the crawl (`total_urls`).
    pub max_total_urls: u64,
    /// Indexes nested in indexes: a sitemap listed by an index `n` deep
    /// is read only if `n <= max_nesting` (`too_deep`). The protocol
    /// allows 1 (an index lists urlsets).
    pub max_nesting: u32,
}

impl Default for SitemapLimits {
    fn default() -> SitemapLimits {
        SitemapLimits {
            max_bytes: 50 << 20,
            max_urls: 50_000,
            max_total_urls: 5_000_000,
            max_nesting: 2,
        }
    }
}

/// What kind of document a sitemap was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `<sitemapindex>`: its entries are sitemaps.
    Index,
    /// `<urlset>`, or a text sitemap: its entries are pages.
    UrlSet,
    /// robots.txt: its entries are sitemaps.
    Robots,
}

/// One `<url>` or `<sitemap>`: where, and when it last changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The `<loc>`, absolute.
    pub loc: Url,
    /// The `<lastmod>` as written (W3C datetime), if any.
    pub lastmod: Option<String>,
}

/// A bound that cut a sitemap short (the key counted in the stats).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// More than `max_bytes` after decompression.
    TooBig,
    /// More than `max_urls` entries.
    TooManyUrls,
}

impl Bound {
    /// The stats key.
    pub fn as_str(self) -> &'static str {
        match self {
            Bound::TooBig => "too_big",
            Bound::TooManyUrls => "too_many_urls",
        }
    }
}

/// A sitemap read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sitemap {
    /// Index, urlset or robots.txt.
    pub kind: Kind,
    /// Its entries (http and https URLs only), in document order.
    pub entries: Vec<Entry>,
    /// The bounds that cut it short.
    pub bounds: Vec<Bound>,
    /// Why reading stopped early, if the document is broken (what was read
    /// before stands).
    pub error: Option<String>,
}

/// Reads a sitemap body fetched for `role` from `url`: gunzipped if it is
/// gzip (an `.xml.gz`; a `Content-Encoding: gzip` answer arrives
/// decoded), then robots.txt `Sitemap:` lines, sitemap XML, or a text
/// sitemap (one URL a line). Never fails; a broken document gives what
/// was read before the break, and the error.
pub fn read(role: SitemapRole, url: &Url, body: &[u8], limits: &SitemapLimits) -> Sitemap {
    let mut bounds = Vec::new();
    let unzipped;
    let body = if body.starts_with(&[0x1f, 0x8b]) {
        let (data, cut, err) = gunzip(body, limits.max_bytes);
        if cut {
            bounds.push(Bound::TooBig);
        }
        if let Some(e) = err {
            return Sitemap {
                kind: Kind::UrlSet,
                entries: Vec::new(),
                bounds,
                error: Some(format!("not valid gzip: {e}")),
            };
        }
        unzipped = data;
        &unzipped[..]
    } else if body.len() > limits.max_bytes {
        bounds.push(Bound::TooBig);
        &body[..limits.max_bytes]
    } else {
        body
    };
    let text = decode(body);
    let mut s = match role {
        SitemapRole::Robots => robots_lines(&text, url, limits.max_urls),
        SitemapRole::Sitemap { .. }
            if text
                .trim_start_matches('\u{feff}')
                .trim_start()
                .starts_with('<') =>
        {
            xml(&text, url, limits.max_urls)
        }
        SitemapRole::Sitemap { .. } => text_lines(&text, url, limits.max_urls),
    };
    s.bounds.splice(0..0, bounds);
    s
}

/// [`read`], on a worker thread ([`solo::to_thread`]) when the body is
/// larger than `off_loop_bytes` (`Config::parse_off_loop_bytes`) or
/// gzip: a 50 MiB sitemap would hold the loop thread long enough to stall
/// every download.
pub(crate) async fn read_off_loop(
    role: SitemapRole,
    url: &Url,
    body: bytes::Bytes,
    limits: &SitemapLimits,
    off_loop_bytes: usize,
) -> Sitemap {
    if body.len() <= off_loop_bytes && !body.starts_with(&[0x1f, 0x8b]) {
        return read(role, url, &body, limits);
    }
    let (url, limits) = (url.clone(), limits.clone());
    solo::to_thread(move || read(role, &url, &body, &limits)).await
}

/// Gunzips at most `max` bytes: the data, whether there was more, and an
/// error if the stream is broken before that.
fn gunzip(body: &[u8], max: usize) -> (Vec<u8>, bool, Option<String>) {
    let mut out = Vec::new();
    let mut dec = flate2::read::MultiGzDecoder::new(body).take(max as u64 + 1);
    let err = dec.read_to_end(&mut out).err().map(|e| e.to_string());
    let cut = out.len() > max;
    out.truncate(max);
    (out, cut, if cut { None } else { err })
}

/// A sitemap's text: UTF-8 (as the protocol asks), unless a BOM or the
/// XML declaration (`<?xml ... encoding="ISO-8859-1"?>`) names another
/// charset, as XML parsers (Scrapy's lxml) read it; bytes that are not
/// in the charset become U+FFFD.
fn decode(body: &[u8]) -> std::borrow::Cow<'_, str> {
    use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};
    let declared = || {
        let head = &body[..body.len().min(256)];
        let decl = head.strip_prefix(b"<?xml")?;
        let decl = &decl[..memchr::memmem::find(decl, b"?>")?];
        let at = memchr::memmem::find(decl, b"encoding")?;
        let rest = std::str::from_utf8(&decl[at + 8..]).ok()?;
        let value = rest.trim_start().strip_prefix('=')?.trim_start();
        let quote = value.chars().next().filter(|q| *q == '"' || *q == '\'')?;
        let label = value[1..].split(quote).next()?;
        // A declaration read as ASCII is not UTF-16, whatever it says.
        Encoding::for_label(label.trim().as_bytes()).filter(|e| ![UTF_16LE, UTF_16BE].contains(e))
    };
    match Encoding::for_bom(body).map(|(e, _)| e).or_else(declared) {
        // `decode` removes a BOM; a UTF-8 one is also skipped later.
        Some(e) if e != UTF_8 => e.decode(body).0,
        _ => String::from_utf8_lossy(body),
    }
}

/// An entry's URL: resolved against the sitemap's, http(s) only, without
/// its fragment.
fn entry_url(base: &Url, loc: &str) -> Option<Url> {
    let mut u = base.join(loc.trim()).ok()?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none_or(str::is_empty) {
        return None;
    }
    u.set_fragment(None);
    Some(u)
}

/// Collects entries up to `max`.
struct Collect {
    entries: Vec<Entry>,
    max: usize,
    capped: bool,
}

impl Collect {
    fn new(max: usize) -> Collect {
        Collect {
            entries: Vec::new(),
            max,
            capped: false,
        }
    }

    /// Adds an entry; false once the cap is reached.
    fn push(&mut self, base: &Url, loc: &str, lastmod: Option<String>) -> bool {
        if self.entries.len() >= self.max {
            self.capped = true;
            return false;
        }
        if let Some(loc) = entry_url(base, loc) {
            self.entries.push(Entry { loc, lastmod });
        }
        true
    }

    fn done(self, kind: Kind, error: Option<String>) -> Sitemap {
        Sitemap {
            kind,
            entries: self.entries,
            bounds: if self.capped {
                vec![Bound::TooManyUrls]
            } else {
                Vec::new()
            },
            error,
        }
    }
}

/// The `Sitemap:` lines of a robots.txt.
fn robots_lines(text: &str, base: &Url, max: usize) -> Sitemap {
    let mut c = Collect::new(max);
    for s in crate::robots::sitemaps(text.as_bytes()) {
        if !c.push(base, &s, None) {
            break;
        }
    }
    c.done(Kind::Robots, None)
}

/// A text sitemap: one URL a line.
fn text_lines(text: &str, base: &Url, max: usize) -> Sitemap {
    let mut c = Collect::new(max);
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        // Only absolute URLs count: a text sitemap has nothing else.
        if Url::parse(line).is_ok() && !c.push(base, line, None) {
            break;
        }
    }
    c.done(Kind::UrlSet, None)
}

/// The entry being read from sitemap XML.
#[derive(Default)]
struct Current {
    in_entry: bool,
    /// 1: inside `<loc>`, 2: inside `<lastmod>`, 3: inside one too long.
    field: u8,
    loc: String,
    lastmod: String,
}

/// Longest `<loc>` or `<lastmod>` read: a longer one is dropped (such a
/// URL is not one a server would answer), and so is its entry if it is
/// the `<loc>`.
const MAX_FIELD: usize = 8 << 10;

impl Current {
    fn text(&mut self, s: &str) {
        let f = match self.field {
            1 => &mut self.loc,
            2 => &mut self.lastmod,
            _ => return,
        };
        if f.len() + s.len() <= MAX_FIELD {
            f.push_str(s);
        } else {
            // Too long to be true: the entry has none (3: skip the rest).
            f.clear();
            self.field = 3;
        }
    }
}

/// Sitemap XML: `<sitemapindex>` or `<urlset>`, by local names (any
/// namespace prefix), streamed with quick-xml.
fn xml(text: &str, base: &Url, max: usize) -> Sitemap {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    // A bare `&` (`?a=1&b=2`, common in generated sitemaps) is text, as
    // in HTML, not the end of the sitemap.
    reader.config_mut().allow_dangling_amp = true;
    let mut kind = Kind::UrlSet;
    let mut c = Collect::new(max);
    let mut cur = Current::default();
    let error = loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => match e.local_name().as_ref() {
                "sitemapindex" => kind = Kind::Index,
                "url" | "sitemap" => {
                    cur.in_entry = true;
                    cur.loc.clear();
                    cur.lastmod.clear();
                }
                "loc" if cur.in_entry => cur.field = 1,
                "lastmod" if cur.in_entry => cur.field = 2,
                _ => cur.field = 0,
            },
            Ok(Event::Empty(e)) if e.local_name().as_ref() == "sitemapindex" => {
                kind = Kind::Index;
            }
            Ok(Event::End(e)) => {
                cur.field = 0;
                if matches!(e.local_name().as_ref(), "url" | "sitemap") && cur.in_entry {
                    cur.in_entry = false;
                    let lm = cur.lastmod.trim();
                    let lm = (!lm.is_empty()).then(|| lm.to_owned());
                    if !cur.loc.trim().is_empty() && !c.push(base, &cur.loc, lm) {
                        break None;
                    }
                }
            }
            Ok(Event::Text(t)) => cur.text(&t.xml10_content()),
            Ok(Event::CData(t)) => cur.text(&t),
            Ok(Event::GeneralRef(r)) => cur.text(&reference(&r)),
            Ok(Event::Eof) => break None,
            Ok(_) => {}
            Err(e) => {
                break Some(format!(
                    "XML error at byte {}: {e}",
                    reader.error_position()
                ))
            }
        }
    };
    c.done(kind, error)
}

/// The text of `&name;` in a sitemap: the character of a character
/// reference or a predefined entity; nothing for any other entity (not
/// declared: lxml, Scrapy's parser, drops it too); the reference as
/// written when it is no reference at all (`&b=2;`, `&#xZZ;`: a bare `&`
/// whose text happens to reach a `;`).
pub(crate) fn reference(r: &quick_xml::events::BytesRef<'_>) -> std::borrow::Cow<'static, str> {
    if let Ok(Some(ch)) = r.resolve_char_ref() {
        return ch.to_string().into();
    }
    let name: &str = r;
    if let Some(s) = quick_xml::escape::resolve_predefined_entity(name) {
        return s.into();
    }
    let mut chars = name.chars();
    let name_start = |c: char| c.is_alphabetic() || c == '_' || c == ':';
    let is_name = chars.next().is_some_and(name_start)
        && chars.all(|c| name_start(c) || c.is_alphanumeric() || matches!(c, '-' | '.'));
    if is_name {
        "".into()
    } else {
        format!("&{name};").into()
    }
}

/// What [`expand`] found in one sitemap, for the page record and the
/// stats.
pub(crate) struct Expanded {
    /// Entries read.
    pub entries: usize,
    /// Why the document broke off, if it did.
    pub error: Option<String>,
    /// Stats keys and their increments.
    pub counts: Vec<(&'static str, u64)>,
}

/// Asks for what a sitemap read for `request` (of `role`) lists: sitemaps (from an index or robots.txt) that
/// [`Spider::sitemap_follow`] accepts, one index deeper, unless past
/// `max_nesting`; pages (from a urlset) with the callback
/// [`Spider::sitemap_callback`] picks and the entry's `lastmod`, until
/// `total` reaches `max_total_urls`. Entries (pages and sitemaps) whose
/// `lastmod` is before `since`, and those [`Spider::sitemap_filter`]
/// turns away, are skipped first (counted `old` and `filtered`).
#[allow(clippy::too_many_arguments)] // the engine's one call
pub(crate) fn expand<S: Spider>(
    spider: &S,
    limits: &SitemapLimits,
    since: Option<SystemTime>,
    total: &Cell<u64>,
    request: &Request<S::Callback>,
    role: SitemapRole,
    s: Sitemap,
    out: &mut Output<S::Callback>,
) -> Expanded {
    let mut counts = vec![("read", 1)];
    let (mut old, mut filtered) = (0, 0);
    let mut wanted = |e: &Entry| {
        let lastmod = e.lastmod.as_deref();
        if let (Some(since), Some(t)) = (since, lastmod.and_then(lastmod_time)) {
            if t < since {
                old += 1;
                return false;
            }
        }
        let keep = spider.sitemap_filter(&e.loc, lastmod);
        filtered += u64::from(!keep);
        keep
    };
    counts.extend(s.bounds.iter().map(|b| (b.as_str(), 1)));
    if s.error.is_some() {
        counts.push(("broken", 1));
    }
    let entries = s.entries.len();
    match s.kind {
        Kind::Robots | Kind::Index => {
            let nesting = match role {
                SitemapRole::Sitemap { nesting } if s.kind == Kind::Index => nesting + 1,
                _ => 0,
            };
            if nesting > limits.max_nesting {
                counts.push(("too_deep", entries as u64));
            } else {
                for e in s
                    .entries
                    .into_iter()
                    .filter(|e| spider.sitemap_follow(&e.loc) && wanted(e))
                {
                    let mut r = Request::new(e.loc, request.callback.clone());
                    let x = r.extras_mut();
                    x.sitemap = Some(SitemapRole::Sitemap { nesting });
                    x.lastmod = e.lastmod;
                    out.follow(r);
                }
            }
        }
        Kind::UrlSet => {
            let mut taken = 0;
            for e in s.entries {
                if total.get() >= limits.max_total_urls {
                    counts.push(("total_urls", 1));
                    break;
                }
                if !wanted(&e) {
                    continue;
                }
                if let Some(cb) = spider.sitemap_callback(&e.loc) {
                    let mut r = Request::new(e.loc, cb);
                    if e.lastmod.is_some() {
                        r.extras_mut().lastmod = e.lastmod;
                    }
                    out.follow(r);
                    total.set(total.get() + 1);
                    taken += 1;
                }
            }
            counts.push(("urls", taken));
        }
    }
    counts.extend(
        [("old", old), ("filtered", filtered)]
            .into_iter()
            .filter(|c| c.1 > 0),
    );
    Expanded {
        entries,
        error: s.error,
        counts,
    }
}

/// A sitemap `<lastmod>` (W3C datetime: `2024-05-01`,
/// `2024-05-01T10:30+02:00`, `2024-05-01T10:30:15.5Z`; also `2024-05`
/// and `2024`, at their start, in UTC) as a time; `None` if it is none
/// of these.
///
/// ```
/// use solo_crawl::lastmod_time;
/// use std::time::{Duration, UNIX_EPOCH};
/// let day = UNIX_EPOCH + Duration::from_secs(1_714_521_600); // 2024-05-01T00:00Z
/// assert_eq!(lastmod_time("2024-05-01"), Some(day));
/// assert_eq!(lastmod_time("2024-05-01T02:00+02:00"), Some(day));
/// assert_eq!(lastmod_time("2024-05-01T00:00:30Z"), Some(day + Duration::from_secs(30)));
/// assert_eq!(lastmod_time("yesterday"), None);
/// ```
pub fn lastmod_time(s: &str) -> Option<SystemTime> {
    use time::format_description::well_known::Rfc3339;
    use time::{Date, Month, OffsetDateTime};
    let s = s.trim();
    let at = match s.len() {
        4 => Date::from_calendar_date(s.parse().ok()?, Month::January, 1)
            .ok()?
            .midnight()
            .assume_utc(),
        7 => {
            let (y, m) = s.split_once('-')?;
            let m = Month::try_from(m.parse::<u8>().ok()?).ok()?;
            Date::from_calendar_date(y.parse().ok()?, m, 1)
                .ok()?
                .midnight()
                .assume_utc()
        }
        10 => OffsetDateTime::parse(&format!("{s}T00:00:00Z"), &Rfc3339).ok()?,
        _ => OffsetDateTime::parse(&rfc3339_form(s)?, &Rfc3339).ok()?,
    };
    Some(at.into())
}

/// A date and time as sitemaps write them, in RFC 3339's form: `T` for
/// a space between date and time, seconds added to `hh:mm`, a zone
/// `+hhmm` given its colon, and none read as UTC (what crawlers take
/// for a `<lastmod>` without one).
fn rfc3339_form(s: &str) -> Option<String> {
    let date = s.get(..10)?;
    let rest = s.get(11..)?;
    if !matches!(s.as_bytes().get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    // The clock runs to the first zone character (`Z`, `+`, `-`).
    let zone_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(zone_at);
    let clock = match clock.len() {
        5 => format!("{clock}:00"),
        _ => clock.to_owned(),
    };
    let zone = match zone.as_bytes() {
        [] => "Z".to_owned(),
        [b'+' | b'-', h1, h2, m1, m2] if [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()) => {
            format!("{}:{}", zone.get(..3)?, zone.get(3..)?)
        }
        _ => zone.to_owned(),
    };
    Some(format!("{date}T{clock}{zone}"))
}

/// The sitemap requests a crawl starts with besides the spider's: each
/// of `config.sitemap_urls`, and with `config.sitemaps` the robots.txt
/// of each start request's host (read for its `Sitemap:` lines).
pub(crate) fn start_requests<C: Default>(
    config: &Config,
    starts: &[Request<C>],
) -> Vec<Request<C>> {
    let mut out: Vec<Request<C>> = config
        .sitemap_urls
        .iter()
        .map(|u| Request::sitemap(u.clone(), C::default()))
        .collect();
    if config.sitemaps {
        let mut origins = std::collections::HashSet::new();
        for r in starts {
            if let Ok(robots) = r.url.join("/robots.txt") {
                if origins.insert(robots.as_str().to_owned()) {
                    out.push(Request::sitemap(robots, C::default()));
                }
            }
        }
    }
    out
}

/// Which callback parses a page found in a sitemap, by the first regex
/// its URL matches (Scrapy's `sitemap_rules`); a URL no rule matches is
/// not crawled. A [`Spider`](crate::Spider) holds one and answers
/// [`Spider::sitemap_callback`](crate::Spider::sitemap_callback) with it.
#[derive(Clone, Debug)]
pub struct SitemapRules<C> {
    rules: Vec<(Regex, C)>,
}

impl<C: Clone> SitemapRules<C> {
    /// Rules from `(regex, callback)` pairs, tried in order; an error
    /// names the regex that does not compile.
    pub fn new<'a>(
        rules: impl IntoIterator<Item = (&'a str, C)>,
    ) -> Result<SitemapRules<C>, String> {
        let rules = rules
            .into_iter()
            .map(|(re, cb)| {
                Regex::new(re)
                    .map(|r| (r, cb))
                    .map_err(|e| format!("bad sitemap rule regex {re:?}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(SitemapRules { rules })
    }

    /// The callback of the first rule `url` matches.
    pub fn callback(&self, url: &Url) -> Option<C> {
        self.rules
            .iter()
            .find(|(re, _)| re.is_match(url.as_str()))
            .map(|(_, cb)| cb.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever a sitemap says in `<lastmod>` is a time or `None`,
    /// never a panic (multi-byte characters where digits go included).
    #[test]
    fn lastmod_times_of_odd_text() {
        for s in [
            "",
            "2024",
            "2024-13",
            "2024-02-30",
            "2024-05-01T10:30Z",
            "2024-05-01T10:3\u{e9}+01:00",
            "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
            "2024-05-01T10:30:00.123456789+14:00",
            "0000-01-01",
        ] {
            let _ = lastmod_time(s);
        }
        assert!(lastmod_time("2024-05-01T10:30Z").is_some());
        assert!(lastmod_time("2024-02-30").is_none());
        // As sitemaps write them: no zone (UTC), a space, +hhmm.
        let at = |s| lastmod_time(s).unwrap_or_else(|| panic!("{s}"));
        let utc = at("2019-05-01T10:30:00Z");
        assert_eq!(at("2019-05-01T10:30:00"), utc);
        assert_eq!(at("2019-05-01 10:30:00"), utc);
        assert_eq!(at("2019-05-01 10:30"), utc);
        assert_eq!(at("2019-05-01T12:30:00+0200"), utc);
        assert_eq!(at("2019-05-01T12:30+02:00"), utc);
    }

    fn sm(body: &[u8], limits: &SitemapLimits) -> Sitemap {
        let url = Url::parse("http://a.test/dir/sitemap.xml").unwrap();
        read(SitemapRole::Sitemap { nesting: 0 }, &url, body, limits)
    }

    fn locs(s: &Sitemap) -> Vec<&str> {
        s.entries.iter().map(|e| e.loc.as_str()).collect()
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn index_with_prefixes_cdata_and_lastmod() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
            <sm:sitemapindex xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9">
              <sm:sitemap><sm:loc><![CDATA[http://a.test/s1.xml.gz]]></sm:loc>
                <sm:lastmod>2024-01-02T03:04:05+00:00</sm:lastmod></sm:sitemap>
              <sm:sitemap><sm:loc>s2.xml</sm:loc></sm:sitemap>
              <sm:sitemap><sm:loc>ftp://a.test/no</sm:loc></sm:sitemap>
              <sm:sitemap><sm:loc>  </sm:loc></sm:sitemap>
            </sm:sitemapindex>"#;
        let s = sm(xml, &SitemapLimits::default());
        assert_eq!(s.kind, Kind::Index);
        assert_eq!(
            locs(&s),
            ["http://a.test/s1.xml.gz", "http://a.test/dir/s2.xml"]
        );
        assert_eq!(
            s.entries[0].lastmod.as_deref(),
            Some("2024-01-02T03:04:05+00:00")
        );
        assert_eq!((s.bounds.len(), s.error.as_deref()), (0, None));
    }

    #[test]
    fn a_sitemap_is_read_in_the_charset_its_xml_declaration_names() {
        let latin1 = b"<?xml version=\"1.0\" encoding='ISO-8859-1'?>\n\
            <urlset><url><loc>http://a.test/product/caf\xe9</loc></url></urlset>";
        let s = sm(latin1, &SitemapLimits::default());
        // Was caf%EF%BF%BD (U+FFFD).
        assert_eq!(locs(&s), ["http://a.test/product/caf%C3%A9"]);
        // UTF-16 with its BOM.
        let mut utf16 = vec![0xff, 0xfe];
        for u in "<urlset><url><loc>http://a.test/\u{e9}</loc></url></urlset>".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(
            locs(&sm(&utf16, &SitemapLimits::default())),
            ["http://a.test/%C3%A9"]
        );
        // A declared UTF-16 read as ASCII, or a label nobody knows: UTF-8.
        for decl in ["UTF-16", "no-such-charset"] {
            let xml = format!("<?xml version=\"1.0\" encoding=\"{decl}\"?><urlset><url><loc>http://a.test/\u{e9}</loc></url></urlset>");
            assert_eq!(
                locs(&sm(xml.as_bytes(), &SitemapLimits::default())),
                ["http://a.test/%C3%A9"]
            );
        }
    }

    #[test]
    fn gzip_text_and_robots() {
        let body = gz(b"<urlset><url><loc>http://a.test/&#x41;&lt;</loc></url></urlset>");
        let s = sm(&body, &SitemapLimits::default());
        assert_eq!(locs(&s), ["http://a.test/A%3C"]);
        let s = sm(
            b"http://a.test/1

  http://a.test/2  
not a url
",
            &SitemapLimits::default(),
        );
        assert_eq!(locs(&s), ["http://a.test/1", "http://a.test/2"]);
        let robots = Url::parse("http://a.test/robots.txt").unwrap();
        let r = read(
            SitemapRole::Robots,
            &robots,
            b"User-agent: *
Disallow: /x
Sitemap: http://a.test/sm.xml
sitemap: /rel.xml
",
            &SitemapLimits::default(),
        );
        assert_eq!(r.kind, Kind::Robots);
        assert_eq!(locs(&r), ["http://a.test/sm.xml", "http://a.test/rel.xml"]);
    }

    /// A raw `&` in a `<loc>` was the end of the sitemap (an XML error):
    /// it is text, and the URLs after it are read.
    #[test]
    fn a_bare_ampersand_is_text_and_the_sitemap_goes_on() {
        let xml = b"<urlset><url><loc>/a?x=1&y=2</loc></url>\
            <url><loc>/b?x=1&y=2;z=3&amp;w=&#x41;&nbsp;&</loc></url>\
            <url><loc>/c & d</loc></url><url><loc>/e</loc></url></urlset>";
        let s = sm(xml, &SitemapLimits::default());
        assert_eq!(s.error, None);
        assert_eq!(
            locs(&s),
            [
                "http://a.test/a?x=1&y=2",
                "http://a.test/b?x=1&y=2;z=3&w=A&",
                "http://a.test/c%20&%20d",
                "http://a.test/e"
            ]
        );
        // A real XML error still ends the sitemap, and is reported.
        let s = sm(
            b"<urlset><url><loc>/a&b</loc></url></oops><url><loc>/c</loc></url></urlset>",
            &SitemapLimits::default(),
        );
        assert_eq!(locs(&s), ["http://a.test/a&b"]);
        assert!(s.error.is_some_and(|e| e.contains("XML error")));
    }

    #[test]
    fn bounds_cut_hostile_sitemaps() {
        let limits = SitemapLimits {
            max_bytes: 64 << 10,
            max_urls: 100,
            ..SitemapLimits::default()
        };
        // A gzip bomb: 64 MiB of zeros in about 64 KB.
        let bomb = gz(&vec![b'0'; 64 << 20]);
        assert!(bomb.len() < 100 << 10, "{}", bomb.len());
        let s = sm(&bomb, &limits);
        assert_eq!(s.bounds, [Bound::TooBig]);
        assert!(s.entries.is_empty());
        // Many URLs: the first 100 are kept.
        let many: String = (0..1000)
            .map(|i| format!("<url><loc>/p{i}</loc></url>"))
            .collect();
        let s = sm(format!("<urlset>{many}</urlset>").as_bytes(), &limits);
        assert_eq!(
            (s.entries.len(), s.bounds.as_slice()),
            (100, &[Bound::TooManyUrls][..])
        );
        // Too big before decompression too; and broken XML keeps what came first.
        let s = sm(format!("<urlset>{}", many.repeat(10)).as_bytes(), &limits);
        assert!(s.bounds.contains(&Bound::TooBig), "{:?}", s.bounds);
        let s = sm(
            b"<urlset><url><loc>/ok</loc></url><url><loc>/x</lo",
            &limits,
        );
        assert_eq!(locs(&s), ["http://a.test/ok"]);
        let s = sm(&[0x1f, 0x8b, 1, 2, 3], &limits);
        assert!(s.error.unwrap().contains("gzip"));
        let long = format!(
            "<urlset><url><loc>/{}</loc></url><url><loc>/short</loc></url></urlset>",
            "x".repeat(1 << 20)
        );
        let s = sm(long.as_bytes(), &SitemapLimits::default());
        assert_eq!(locs(&s), ["http://a.test/short"]);
    }
}

/// The examples that were this module's doctests, run as unit tests
/// now that the module is internal.
#[cfg(test)]
mod examples {
    use crate as solo_crawl;

    #[test]
    fn example_1() {
        use solo_crawl::sitemap::SitemapRole;
        let r =
            solo_crawl::Request::sitemap(url::Url::parse("http://a.test/robots.txt").unwrap(), ());
        assert_eq!(r.extras().sitemap, Some(SitemapRole::Robots));
        let s =
            solo_crawl::Request::sitemap(url::Url::parse("http://a.test/sitemap.xml").unwrap(), ());
        assert_eq!(
            s.extras().sitemap,
            Some(SitemapRole::Sitemap { nesting: 0 })
        );
    }

    #[test]
    fn example_2() {
        let l = solo_crawl::sitemap::SitemapLimits::default();
        assert_eq!(
            (l.max_bytes, l.max_urls, l.max_nesting),
            (50 << 20, 50_000, 2)
        );
    }

    #[test]
    fn example_3() {
        use solo_crawl::sitemap::{read, Kind, SitemapLimits, SitemapRole};
        let url = url::Url::parse("http://a.test/i.xml").unwrap();
        let s = read(
            SitemapRole::Sitemap { nesting: 0 },
            &url,
            b"<sitemapindex/>",
            &SitemapLimits::default(),
        );
        assert_eq!(s.kind, Kind::Index);
    }

    #[test]
    fn example_4() {
        let e = solo_crawl::sitemap::Entry {
            loc: url::Url::parse("http://a.test/").unwrap(),
            lastmod: None,
        };
        assert_eq!(e.loc.path(), "/");
    }

    #[test]
    fn example_5() {
        assert_eq!(solo_crawl::sitemap::Bound::TooBig.as_str(), "too_big");
    }

    #[test]
    fn example_6() {
        use solo_crawl::sitemap::{read, Bound, SitemapLimits, SitemapRole};
        let url = url::Url::parse("http://a.test/s.txt").unwrap();
        let limits = SitemapLimits {
            max_urls: 1,
            ..Default::default()
        };
        let s = read(
            SitemapRole::Sitemap { nesting: 0 },
            &url,
            b"http://a.test/1\nhttp://a.test/2\n",
            &limits,
        );
        assert_eq!(
            (s.entries.len(), s.bounds.as_slice(), s.error),
            (1, &[Bound::TooManyUrls][..], None)
        );
    }

    #[test]
    fn example_7() {
        use solo_crawl::sitemap::{read, Kind, SitemapLimits, SitemapRole};
        let url = url::Url::parse("http://a.test/sitemap.xml").unwrap();
        let xml =
            br#"<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
          <url><loc>http://a.test/a?x=1&amp;y=2</loc><lastmod>2024-05-01</lastmod></url>
          <url><loc> /b </loc></url></urlset>"#;
        let s = read(
            SitemapRole::Sitemap { nesting: 0 },
            &url,
            xml,
            &SitemapLimits::default(),
        );
        assert_eq!(s.kind, Kind::UrlSet);
        assert_eq!(s.entries[0].loc.as_str(), "http://a.test/a?x=1&y=2");
        assert_eq!(s.entries[0].lastmod.as_deref(), Some("2024-05-01"));
        assert_eq!(s.entries[1].loc.as_str(), "http://a.test/b");
    }

    #[test]
    fn example_8() {
        use solo_crawl::sitemap::SitemapRules;
        let rules = SitemapRules::new([("/product/", "product"), ("/blog/", "post")]).unwrap();
        let u = |s| url::Url::parse(s).unwrap();
        assert_eq!(
            rules.callback(&u("http://a.test/product/1")),
            Some("product")
        );
        assert_eq!(rules.callback(&u("http://a.test/about")), None);
        assert!(SitemapRules::new([("(", ())]).is_err());
    }
}
