//! Link extractors: which links of a page a spider wants, chosen by
//! pattern, domain, extension and region (Scrapy's `LinkExtractor`).
//!
//! Owns: the [`LinkExtractor`] (its filters, and reading the links of a
//! response's DOM through them) and the [`Link`] it returns. Must not:
//! decide what the crawl may fetch (the frontier's scope, robots.txt and
//! seen set still apply to every request made from a link), or attach
//! callbacks to links (that is [`CrawlRules`](crate::CrawlRules)).

use std::collections::HashSet;

use regex::RegexSet;
use scraper::{ElementRef, Selector};
use url::Url;

use crate::Response;

/// The extensions Scrapy's `LinkExtractor` skips by default: images,
/// audio, video, office documents, archives, other binaries, and CSS
/// and JavaScript. Replace them with
/// [`deny_extensions`](LinkExtractor::deny_extensions).
///
/// ```
/// assert!(solo_crawl::DEFAULT_DENY_EXTENSIONS.contains(&"pdf"));
/// ```
pub const DEFAULT_DENY_EXTENSIONS: &[&str] = &[
    // images
    "mng", "pct", "bmp", "gif", "jpg", "jpeg", "png", "pst", "psp", "tif", "tiff", "ai", "drw",
    "dxf", "eps", "ps", "svg", "cdr", "ico", "webp", "avif", "heic", // audio
    "mp3", "wma", "ogg", "wav", "ra", "aac", "mid", "au", "aiff", "flac", "opus",
    // video
    "3gp", "asf", "asx", "avi", "mov", "mp4", "mpg", "mpeg", "qt", "rm", "swf", "wmv", "m4a", "m4v",
    "flv", "webm", "mkv", // office documents
    "xls", "xlsm", "xlsx", "xltm", "xltx", "potm", "potx", "ppt", "pptm", "pptx", "pps", "doc",
    "docb", "docm", "docx", "dotm", "dotx", "odt", "ods", "odg", "odp",
    // archives and other binaries, styles and scripts
    "css", "pdf", "exe", "bin", "rss", "dmg", "iso", "apk", "jar", "sh", "rb", "js", "zip", "tar",
    "gz", "tgz", "bz2", "xz", "rar", "7z", "msi", "deb", "rpm", "woff", "woff2", "ttf", "otf",
    "eot",
];

/// A link a [`LinkExtractor`] found: its absolute URL (resolved against
/// the page's base, fragment dropped), the text of its element
/// (whitespace collapsed), and whether it says `rel="nofollow"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Where it points.
    pub url: Url,
    /// The element's text, whitespace collapsed and trimmed.
    pub text: String,
    /// Its `rel` has `nofollow`.
    pub nofollow: bool,
}

/// Chooses links of a page (Scrapy's `LinkExtractor`): the `href` of
/// `<a>` and `<area>` elements by default, kept when they match one of
/// the `allow` regexes (or there are none) and none of the `deny` ones,
/// are on an allowed domain and on no denied one, do not end in a denied
/// extension, and lie inside a `restrict_css` region if one is set. Each
/// URL is returned once, in document order.
///
/// Regexes are searched for anywhere in the absolute URL (Python's
/// `re.search`); domains match themselves and their subdomains.
///
/// ```
/// use solo_crawl::{LinkExtractor, Response};
/// let page = Response::new(
///     url::Url::parse("http://shop.test/").unwrap(), 200, vec![],
///     r#"<nav><a href="/c/shoes">Shoes</a></nav>
///        <div class="products"><a href="/item/1"> Red
///          shoe </a><a href="/item/2.pdf">Sheet</a><a href="/item/3" rel="nofollow">Old</a></div>
///        <a href="/item/9">Elsewhere</a>"#.into(),
/// );
/// let items = LinkExtractor::new()
///     .allow([r"/item/\d+"]).unwrap()
///     .restrict_css(".products").unwrap();
/// let links = items.extract(&page);
/// let urls: Vec<_> = links.iter().map(|l| l.url.as_str()).collect();
/// // The .pdf is a denied extension; /item/9 is outside the region.
/// assert_eq!(urls, ["http://shop.test/item/1", "http://shop.test/item/3"]);
/// assert_eq!(links[0].text, "Red shoe");
/// assert!(links[1].nofollow);
/// ```
#[derive(Clone, Debug)]
pub struct LinkExtractor {
    allow: Option<RegexSet>,
    deny: Option<RegexSet>,
    allow_domains: Vec<String>,
    deny_domains: Vec<String>,
    deny_extensions: HashSet<String>,
    restrict: Vec<Selector>,
    /// Regions chosen by XPath (Scrapy's `restrict_xpaths`), with or
    /// instead of `restrict`.
    restrict_xpath: Vec<String>,
    restrict_text: Option<RegexSet>,
    tags: Vec<String>,
    attrs: Vec<String>,
    /// `tags` x `attrs` as one selector.
    elements: Selector,
}

impl Default for LinkExtractor {
    fn default() -> LinkExtractor {
        LinkExtractor::new()
    }
}

impl LinkExtractor {
    /// Every `<a href>` and `<area href>` whose URL does not end in one of
    /// [`DEFAULT_DENY_EXTENSIONS`].
    ///
    /// ```
    /// let all = solo_crawl::LinkExtractor::new();
    /// # let _ = all;
    /// ```
    pub fn new() -> LinkExtractor {
        let tags = vec!["a".to_owned(), "area".to_owned()];
        let attrs = vec!["href".to_owned()];
        let elements = elements(&tags, &attrs).expect("the default tags form a selector");
        LinkExtractor {
            allow: None,
            deny: None,
            allow_domains: Vec::new(),
            deny_domains: Vec::new(),
            deny_extensions: DEFAULT_DENY_EXTENSIONS
                .iter()
                .map(|e| (*e).to_owned())
                .collect(),
            restrict: Vec::new(),
            restrict_xpath: Vec::new(),
            restrict_text: None,
            tags,
            attrs,
            elements,
        }
    }

    /// Keeps only links whose URL matches one of these regexes (added to
    /// those given before). An error names the regex that does not
    /// compile.
    ///
    /// ```
    /// assert!(solo_crawl::LinkExtractor::new().allow([r"/item/\d+"]).is_ok());
    /// let e = solo_crawl::LinkExtractor::new().allow(["(/item"]).unwrap_err();
    /// assert!(e.starts_with("bad allow regex \"(/item\""), "{e}");
    /// ```
    pub fn allow<'a>(
        mut self,
        patterns: impl IntoIterator<Item = &'a str>,
    ) -> Result<LinkExtractor, String> {
        self.allow = add_patterns(self.allow.take(), patterns, "allow")?;
        Ok(self)
    }

    /// Drops links whose URL matches one of these regexes (added to those
    /// given before); deny wins over allow.
    ///
    /// ```
    /// assert!(solo_crawl::LinkExtractor::new().deny([r"\?sort="]).is_ok());
    /// ```
    pub fn deny<'a>(
        mut self,
        patterns: impl IntoIterator<Item = &'a str>,
    ) -> Result<LinkExtractor, String> {
        self.deny = add_patterns(self.deny.take(), patterns, "deny")?;
        Ok(self)
    }

    /// Keeps only links to these domains or their subdomains (names in
    /// Unicode or punycode, any case). An error names a domain that is
    /// not a host name.
    ///
    /// ```
    /// assert!(solo_crawl::LinkExtractor::new().allow_domains(["example.com"]).is_ok());
    /// assert!(solo_crawl::LinkExtractor::new().allow_domains(["a b"]).is_err());
    /// ```
    pub fn allow_domains<'a>(
        mut self,
        domains: impl IntoIterator<Item = &'a str>,
    ) -> Result<LinkExtractor, String> {
        self.allow_domains.extend(ascii_domains(domains)?);
        Ok(self)
    }

    /// Drops links to these domains or their subdomains.
    ///
    /// ```
    /// assert!(solo_crawl::LinkExtractor::new().deny_domains(["ads.example.com"]).is_ok());
    /// ```
    pub fn deny_domains<'a>(
        mut self,
        domains: impl IntoIterator<Item = &'a str>,
    ) -> Result<LinkExtractor, String> {
        self.deny_domains.extend(ascii_domains(domains)?);
        Ok(self)
    }

    /// Replaces the extensions whose links are dropped (without the dot,
    /// any case; none: every extension is kept).
    ///
    /// ```
    /// let keep_pdfs = solo_crawl::LinkExtractor::new().deny_extensions(["zip"]);
    /// # let _ = keep_pdfs;
    /// ```
    pub fn deny_extensions<'a>(mut self, exts: impl IntoIterator<Item = &'a str>) -> LinkExtractor {
        self.deny_extensions = exts
            .into_iter()
            .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
            .collect();
        self
    }

    /// Looks for links only inside the elements this CSS selector matches
    /// (Scrapy's `restrict_css`; several calls add regions, as does a
    /// selector list `a, b`). An error says what is wrong with the
    /// selector.
    ///
    /// ```
    /// assert!(solo_crawl::LinkExtractor::new().restrict_css("ul.pager").is_ok());
    /// assert!(solo_crawl::LinkExtractor::new().restrict_css("ul..pager").is_err());
    /// ```
    pub fn restrict_css(mut self, css: &str) -> Result<LinkExtractor, String> {
        self.restrict.push(crate::css::parse(css)?);
        Ok(self)
    }

    /// Looks for links only inside the elements this XPath selects
    /// (Scrapy's `restrict_xpaths`; several calls add regions, and
    /// regions of [`restrict_css`](LinkExtractor::restrict_css) add to
    /// them). An error says what is wrong with the expression; one that
    /// gives up on a page (see [`Response::xpath`]) finds no link there.
    ///
    /// ```
    /// let x = solo_crawl::LinkExtractor::new().restrict_xpath("//div[@id='pager']").unwrap();
    /// # let _ = x;
    /// assert!(solo_crawl::LinkExtractor::new().restrict_xpath("//div[").is_err());
    /// ```
    pub fn restrict_xpath(mut self, expr: &str) -> Result<LinkExtractor, String> {
        crate::selector::parse(expr).map_err(|e| e.to_string())?;
        self.restrict_xpath.push(expr.to_owned());
        Ok(self)
    }

    /// Keeps only links whose text matches one of these regexes (Scrapy's
    /// `restrict_text`).
    ///
    /// ```
    /// assert!(solo_crawl::LinkExtractor::new().restrict_text(["(?i)next"]).is_ok());
    /// ```
    pub fn restrict_text<'a>(
        mut self,
        patterns: impl IntoIterator<Item = &'a str>,
    ) -> Result<LinkExtractor, String> {
        self.restrict_text = add_patterns(self.restrict_text.take(), patterns, "restrict_text")?;
        Ok(self)
    }

    /// Which elements hold links (default `a` and `area`).
    ///
    /// ```
    /// let with_frames = solo_crawl::LinkExtractor::new().tags(["a", "area", "iframe"]);
    /// assert!(with_frames.is_ok());
    /// ```
    pub fn tags<'a>(
        mut self,
        tags: impl IntoIterator<Item = &'a str>,
    ) -> Result<LinkExtractor, String> {
        self.tags = names(tags, "tag")?;
        self.elements = elements(&self.tags, &self.attrs)?;
        Ok(self)
    }

    /// Which attributes of those elements hold the link (default `href`).
    ///
    /// ```
    /// let frames = solo_crawl::LinkExtractor::new().tags(["iframe"]).unwrap().attrs(["src"]);
    /// assert!(frames.is_ok());
    /// ```
    pub fn attrs<'a>(
        mut self,
        attrs: impl IntoIterator<Item = &'a str>,
    ) -> Result<LinkExtractor, String> {
        self.attrs = names(attrs, "attribute")?;
        self.elements = elements(&self.tags, &self.attrs)?;
        Ok(self)
    }

    /// The links of `response` this extractor keeps (none for a response
    /// that is not HTML). Builds the page's DOM if nothing did before
    /// (see [`Response::html`]).
    ///
    /// ```
    /// # use solo_crawl::{LinkExtractor, Response};
    /// let page = Response::new(url::Url::parse("http://a.test/d/").unwrap(), 200, vec![],
    ///     r#"<base href="/b/"><a href="x#top">X</a><a href="x">again</a><a href="mailto:m@a.test">m</a>"#.into());
    /// let links = LinkExtractor::new().extract(&page);
    /// assert_eq!(links.len(), 1);
    /// assert_eq!(links[0].url.as_str(), "http://a.test/b/x");
    /// ```
    pub fn extract(&self, response: &Response) -> Vec<Link> {
        let Some(html) = response.html() else {
            return Vec::new();
        };
        let mut regions: Vec<ElementRef<'_>> = self
            .restrict
            .iter()
            .flat_map(|sel| html.select(sel))
            .collect();
        for expr in &self.restrict_xpath {
            if let Ok(found) = response.xpath(expr) {
                regions.extend(found.iter().filter_map(|s| s.element()));
            }
        }
        if self.restrict.is_empty() && self.restrict_xpath.is_empty() {
            regions.push(html.root_element());
        }
        let mut seen = HashSet::new();
        let mut links = Vec::new();
        for region in regions {
            // The region itself may be a link (`restrict_css("a.next")`).
            let own = self.elements.matches(&region).then_some(region);
            for el in own.into_iter().chain(region.select(&self.elements)) {
                for attr in &self.attrs {
                    let Some(value) = el.value().attr(attr) else {
                        continue;
                    };
                    let Some(url) = response.follow(value, ()).map(|r| r.url) else {
                        continue;
                    };
                    if !self.keeps(&url) || seen.contains(url.as_str()) {
                        continue;
                    }
                    let text = collapse(el.text());
                    if let Some(re) = &self.restrict_text {
                        if !re.is_match(&text) {
                            continue;
                        }
                    }
                    seen.insert(url.as_str().to_owned());
                    let nofollow = el.value().attr("rel").is_some_and(|rel| {
                        rel.split_ascii_whitespace()
                            .any(|t| t.eq_ignore_ascii_case("nofollow"))
                    });
                    links.push(Link {
                        url,
                        text,
                        nofollow,
                    });
                }
            }
        }
        links
    }

    /// Whether `url` passes the pattern, domain and extension filters.
    ///
    /// ```
    /// let x = solo_crawl::LinkExtractor::new().allow(["/item/"]).unwrap();
    /// assert!(x.keeps(&url::Url::parse("http://a.test/item/1").unwrap()));
    /// assert!(!x.keeps(&url::Url::parse("http://a.test/item/1.JPG").unwrap()));
    /// // Path parameters are not the extension (as Scrapy reads them).
    /// assert!(x.keeps(&url::Url::parse("http://a.test/item/8;jsessionid=1.jpg").unwrap()));
    /// assert!(!x.keeps(&url::Url::parse("http://a.test/about").unwrap()));
    /// ```
    pub fn keeps(&self, url: &Url) -> bool {
        let u = url.as_str();
        if self.allow.as_ref().is_some_and(|re| !re.is_match(u))
            || self.deny.as_ref().is_some_and(|re| re.is_match(u))
        {
            return false;
        }
        // The URL parser writes hosts lower-cased (IDNA), as the domains
        // are kept.
        let host = url.host_str().unwrap_or("");
        if (!self.allow_domains.is_empty() && !on_any(host, &self.allow_domains))
            || on_any(host, &self.deny_domains)
        {
            return false;
        }
        !extension(url).is_some_and(|e| self.deny_extensions.contains(&e))
    }
}

/// `set` with `patterns` added; an error names the first that does not
/// compile.
fn add_patterns<'a>(
    set: Option<RegexSet>,
    patterns: impl IntoIterator<Item = &'a str>,
    what: &str,
) -> Result<Option<RegexSet>, String> {
    let mut all: Vec<String> = set.map(|s| s.patterns().to_vec()).unwrap_or_default();
    for p in patterns {
        if let Err(e) = regex::Regex::new(p) {
            return Err(format!("bad {what} regex {p:?}: {e}"));
        }
        all.push(p.to_owned());
    }
    if all.is_empty() {
        return Ok(None);
    }
    RegexSet::new(&all)
        .map(Some)
        .map_err(|e| format!("bad {what} regexes: {e}"))
}

/// Domains as the URL parser writes hosts (IDNA, lower case).
fn ascii_domains<'a>(domains: impl IntoIterator<Item = &'a str>) -> Result<Vec<String>, String> {
    domains
        .into_iter()
        .map(|d| {
            let d = d.trim().trim_end_matches('.');
            match url::Host::parse(d) {
                Ok(h) if !d.is_empty() => Ok(h.to_string().to_ascii_lowercase()),
                _ => Err(format!("bad domain {d:?}: not a host name")),
            }
        })
        .collect()
}

/// Whether `host` is one of `domains` or under one of them.
fn on_any(host: &str, domains: &[String]) -> bool {
    domains.iter().any(|d| {
        host == d
            || host
                .strip_suffix(d.as_str())
                .is_some_and(|rest| rest.ends_with('.'))
    })
}

/// The last path segment's extension, lower-cased (`None` without one);
/// path parameters (`;jsessionid=...`) are not part of it, as in
/// Scrapy's `urlparse`.
fn extension(url: &Url) -> Option<String> {
    let last = url.path().rsplit('/').next()?;
    let last = last.split(';').next()?;
    let (stem, ext) = last.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// Element or attribute names: plain names only, at least one.
fn names<'a>(names: impl IntoIterator<Item = &'a str>, what: &str) -> Result<Vec<String>, String> {
    let v: Vec<String> = names
        .into_iter()
        .map(|n| n.trim().to_ascii_lowercase())
        .collect();
    if v.is_empty() {
        return Err(format!("no {what} names given"));
    }
    match v.iter().find(|n| {
        n.is_empty()
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == ':')
    }) {
        Some(bad) => Err(format!("bad {what} name {bad:?}")),
        None => Ok(v),
    }
}

/// One selector for every tag with any of the attributes.
fn elements(tags: &[String], attrs: &[String]) -> Result<Selector, String> {
    let list: Vec<String> = tags
        .iter()
        .flat_map(|t| attrs.iter().map(move |a| format!("{t}[{a}]")))
        .collect();
    crate::css::parse(&list.join(", "))
}

/// Text with runs of whitespace made one space, trimmed (the parts
/// are joined first: `<b>Red</b>shoe` is one word).
fn collapse<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    let whole: String = parts.collect();
    whole.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(url: &str, html: &str) -> Response {
        Response::new(
            Url::parse(url).unwrap(),
            200,
            vec![],
            html.to_owned().into(),
        )
    }

    fn urls(x: &LinkExtractor, r: &Response) -> Vec<String> {
        x.extract(r)
            .into_iter()
            .map(|l| l.url.to_string())
            .collect()
    }

    #[test]
    fn filters_as_scrapy_s_link_extractor() {
        let r = page(
            "http://shop.test/",
            r#"<a href="http://shop.test/item/1">1</a>
               <a href="http://m.shop.test/item/2">2</a>
               <a href="http://ads.shop.test/item/3">3</a>
               <a href="http://other.test/item/4">4</a>
               <a href="http://notshop.test/item/5">5</a>
               <a href="/item/6?sort=asc">6</a>
               <a href="/item/7.tar.GZ">7</a>
               <a href="/item/8.html">8</a>
               <area href="/item/9">
               <link href="/item/10">
               <a href=" /item/11 ">11</a>
               <a href="javascript:go()">js</a>"#,
        );
        let x = LinkExtractor::new()
            .allow(["/item/"])
            .unwrap()
            .deny([r"sort="])
            .unwrap()
            .allow_domains(["SHOP.test"])
            .unwrap()
            .deny_domains(["ads.shop.test"])
            .unwrap();
        assert_eq!(
            urls(&x, &r),
            [
                "http://shop.test/item/1",
                "http://m.shop.test/item/2",
                "http://shop.test/item/8.html",
                "http://shop.test/item/9",
                "http://shop.test/item/11",
            ]
        );
        // No filters: every a/area link once (no <link>, no javascript:),
        // the tar.gz dropped.
        assert_eq!(urls(&LinkExtractor::new(), &r).len(), 9);
        let all = LinkExtractor::new().deny_extensions([]);
        assert_eq!(urls(&all, &r).len(), 10);
    }

    #[test]
    fn regions_text_tags_and_unicode_domains() {
        let r = page(
            "http://b\u{fc}cher.test/",
            "<div class=p><a href='/n?p=2'>Ne<b>xt</b> \u{bb}</a><a href='/x'>x</a></div>\
             <div class=p><a href='/n?p=2'>dup</a></div>\
             <iframe src='/frame'></iframe><a href='/out'>Next</a>",
        );
        let next = LinkExtractor::new()
            .restrict_css("div.p")
            .unwrap()
            .restrict_text(["(?i)^next"])
            .unwrap();
        let l = next.extract(&r);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].url.as_str(), "http://xn--bcher-kva.test/n?p=2");
        assert_eq!(l[0].text, "Next \u{bb}");
        let frames = LinkExtractor::new()
            .tags(["iframe"])
            .unwrap()
            .attrs(["src"])
            .unwrap();
        assert_eq!(urls(&frames, &r), ["http://xn--bcher-kva.test/frame"]);
        let d = LinkExtractor::new()
            .allow_domains(["b\u{fc}cher.test"])
            .unwrap();
        assert_eq!(urls(&d, &r).len(), 3);
        // A region that is the link itself.
        let own = LinkExtractor::new().restrict_css("a[href='/out']").unwrap();
        assert_eq!(urls(&own, &r), ["http://xn--bcher-kva.test/out"]);
        // Regions by XPath, with CSS ones.
        let xp = LinkExtractor::new()
            .restrict_xpath("//div[@class='p'][1]")
            .unwrap();
        assert_eq!(
            urls(&xp, &r),
            [
                "http://xn--bcher-kva.test/n?p=2",
                "http://xn--bcher-kva.test/x"
            ]
        );
        let both = xp.restrict_css("a[href='/out']").unwrap();
        assert_eq!(urls(&both, &r).len(), 3);
        // Two CSS regions add up (the second replaced the first).
        let two = LinkExtractor::new()
            .restrict_css("a[href='/out']")
            .unwrap()
            .restrict_css("a[href='/x']")
            .unwrap();
        assert_eq!(urls(&two, &r).len(), 2);
    }

    #[test]
    fn bad_input_is_an_error_or_nothing() {
        assert!(LinkExtractor::new()
            .tags(["a]"])
            .unwrap_err()
            .contains("bad tag name"));
        assert!(LinkExtractor::new()
            .attrs([])
            .unwrap_err()
            .contains("no attribute"));
        assert!(LinkExtractor::new().deny_domains([""]).is_err());
        assert!(LinkExtractor::new().restrict_text(["["]).is_err());
        let json = Response::new(
            Url::parse("http://a.test/x.json").unwrap(),
            200,
            vec![("content-type".into(), "application/json".into())],
            "{\"a\": \"<a href=/x>\"}".into(),
        );
        assert!(LinkExtractor::new().extract(&json).is_empty());
        // Hostile hrefs neither panic nor leave http(s).
        let r = page(
            "http://a.test/",
            "<a href='http://[::1'>a</a><a href='http://a.test:99999/'>b</a><a href='ftp://a.test/'>c</a><a href=''>self</a>",
        );
        assert_eq!(urls(&LinkExtractor::new(), &r), ["http://a.test/"]);
    }
}
