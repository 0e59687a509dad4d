/// `join_in` pads a relative link for room (the URL Standard strips
/// trailing spaces): its results are those of a plain join, for
/// relative and absolute links, odd schemes and whitespace included.
#[test]
fn join_in_resolves_as_the_url_crate_does() {
    let bases = [
        "http://a.example/d/p.html?x#f",
        "https://xn--caf-dma.example:8443/",
    ];
    let hrefs = [
        "p/1.html",
        "/abs",
        "//other.example/x",
        "?q=1",
        "#top",
        "",
        " ",
        "..",
        "../../x",
        "a b",
        "x\\y",
        "  lead",
        "trail\t ",
        "http://b.example/",
        "HTTPS:z",
        "mailto:x@y",
        "a+b-c.d:rest",
        "1ab:x",
        "-x:y",
        "a:",
        ":x",
        "c:/windows",
        "caf\u{e9}?q=M\u{fc}nchen",
        "http://[::1]:80/",
        "%zz",
        "?\u{2603}",
    ];
    let latin1 = encoding_rs::WINDOWS_1252;
    // A base longer than the room given, and a link too long for it.
    let long_base = format!("http://a.example/{}p.html", "dir/".repeat(100));
    let long_href = format!("{}x", "seg/".repeat(1100));
    let bases = bases.iter().copied().chain([long_base.as_str()]);
    let hrefs = hrefs.iter().copied().chain([long_href.as_str()]);
    for base in bases {
        let base = url::Url::parse(base).unwrap();
        for h in hrefs.clone() {
            assert_eq!(
                super::join_in(&base, h, encoding_rs::UTF_8),
                base.join(h),
                "{base} {h:?}"
            );
            assert_eq!(
                super::join_in(&base, h, latin1),
                super::parse_join(&base, h, latin1),
                "{base} {h:?}"
            );
        }
    }
    assert!(super::has_scheme("a+b-c.d:rest"));
    assert!(!super::has_scheme("1ab:x"));
    assert!(!super::has_scheme("p/a:b"));
    assert!(!super::has_scheme(""));
}

#[test]
fn json_text_never_fails_on_broken_utf32() {
    let text = |body: &[u8]| match super::json_text(body, None) {
        super::JsonText::Decoded(t) => t,
        super::JsonText::Utf8(_) => panic!("not decoded"),
    };
    // A unit that is no character, and bytes left over.
    assert_eq!(
        text(b"\0\0\xFE\xFF\0\0\xD8\0\0\0\0\x31\0"),
        "\u{FFFD}1\u{FFFD}"
    );
    assert_eq!(text(b"\xFF\xFE\0\0"), "");
}

#[test]
fn a_link_on_a_legacy_charset_page_has_its_query_in_that_charset() {
    use super::{join_in, scan_in};
    let page = url::Url::parse("http://h.test/d/").unwrap();
    let latin1 = encoding_rs::WINDOWS_1252;
    // The path in UTF-8, the query in the page's charset, what it
    // cannot encode as a character reference (browsers, Scrapy).
    let u = join_in(&page, "/caf\u{e9}?q=M\u{fc}nchen&s=\u{2603}", latin1).unwrap();
    assert_eq!(
        u.as_str(),
        "http://h.test/caf%C3%A9?q=M%FCnchen&s=%26%239731%3B"
    );
    let html = "<base href=\"/b/?x=\u{e9}\"><a href=\"?q=\u{fc}\">";
    let s = scan_in(html, &page, usize::MAX, latin1);
    assert_eq!(s.base.as_str(), "http://h.test/b/?x=%E9");
    assert_eq!(s.links[0].as_str(), "http://h.test/b/?q=%FC");
    // UTF-8 (and UTF-16, whose pages send UTF-8): as before.
    for utf8 in [encoding_rs::UTF_8, encoding_rs::UTF_16LE] {
        let s = scan_in(html, &page, usize::MAX, utf8);
        assert_eq!(s.links[0].as_str(), "http://h.test/b/?q=%C3%BC");
    }
    let dom = super::scan_dom_in(&scraper::Html::parse_document(html), &page, 9, latin1);
    assert_eq!(dom.links[0].as_str(), "http://h.test/b/?q=%FC");
}

#[test]
fn a_page_that_names_no_charset_and_is_not_utf8_is_windows_1252() {
    use super::decode;
    assert_eq!(decode("café".as_bytes(), Some("text/html")), "café");
    // It was UTF-8 with U+FFFD for every accented letter.
    assert_eq!(
        decode(b"caf\xe9 na\xefve \x93q\x94", Some("text/html")),
        "café naïve \u{201c}q\u{201d}"
    );
    assert_eq!(decode(b"caf\xe9", None), "café");
    // A named charset is obeyed, bad bytes replaced.
    assert_eq!(
        decode(b"\xe9", Some("text/html; charset=utf-8")),
        "\u{fffd}"
    );
    // UTF-8 cut inside its last character (a size limit) stays UTF-8.
    let cut = &"naïve é".as_bytes()[..8];
    assert_eq!(decode(cut, None), "naïve \u{fffd}");
}

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

/// The requisites both scans find (which must agree), as strings.
fn requisites(html: &str) -> Vec<String> {
    let page = Url::parse("http://a.test/dir/page.html").unwrap();
    let streamed = scan_with(html, &page, 1000, encoding_rs::UTF_8, true);
    let dom = scan_dom_with(
        &scraper::Html::parse_document(html),
        &page,
        1000,
        encoding_rs::UTF_8,
        true,
    );
    assert_eq!(streamed, dom, "the two scans differ on {html:?}");
    assert_eq!(scan(html, &page).requisites, [], "only when asked");
    streamed.requisites.iter().map(|u| u.to_string()).collect()
}

/// No script runs, so `<noscript>` is markup (both scans read it
/// in place, links and requisites only; audit: wget and Scrapy find
/// these).
#[test]
fn links_and_requisites_inside_noscript_are_found() {
    let html = r#"<html><head><noscript><link rel=stylesheet href="/ns.css"></noscript>
        <title>t</title></head><body><a href="/visible">v</a>
        <img data-src="/lazy.jpg"><noscript><img src="/ns-img.jpg"></noscript>
        <noscript><a href="/page/2?a=1&amp;b=2" rel=nofollow>Next</a></noscript>
        <noscript></noscript><a href="/last">l</a></body></html>"#;
    let s = both(html);
    assert_eq!(
        links(&s),
        [
            "http://a.test/ns.css",
            "http://a.test/visible",
            "http://a.test/page/2?a=1&b=2",
            "http://a.test/last",
        ]
    );
    assert_eq!(s.rel_nofollow, [false, false, true, false]);
    assert_eq!(s.title.as_deref(), Some("t"));
    assert_eq!(
        requisites(html),
        ["http://a.test/ns.css", "http://a.test/ns-img.jpg"]
    );
}

/// Each `<noscript>` is scanned once more, never deeper, and only
/// the first `MAX_NOSCRIPTS` of a page: one left open to the end of a
/// big page costs a second pass, a page of many no more than that.
#[test]
fn many_or_unclosed_noscripts_cost_one_more_pass() {
    let mut many = "<noscript><a href=/x>x</a></noscript>".repeat(MAX_NOSCRIPTS);
    many.push_str(&"<noscript><a href=/past>x</a></noscript>".repeat(50_000));
    many.push_str("<a href=/end>end</a>");
    let s = both(&many);
    assert_eq!(links(&s), ["http://a.test/x", "http://a.test/end"]);
    let open = format!("<noscript>{}", "<p><a href=/y>y</a>".repeat(50_000));
    assert_eq!(links(&both(&open)), ["http://a.test/y"]);
}

#[test]
fn requisites_of_table_layouts_touch_icons_preloads_and_svg_images() {
    let html = r#"<html><head>
        <link rel=apple-touch-icon href="/touch.png"><link rel="apple-touch-icon-precomposed" href="/touch-p.png">
        <link rel=preload as=font href="/f.woff2" crossorigin><link rel=modulepreload href="/m.js">
        <link rel=prefetch href="/not-needed.html"></head>
        <body background="body-bg.gif"><table background="t.gif"><tr><td background="td.gif">x</td>
        <th background="th.gif">y</th></tr></table><div background="not-an-attribute.gif"></div>
        <svg><image href="svg2.png"/><image xlink:href="svg11.png"/></svg></body></html>"#;
    let d = "http://a.test/dir/";
    let want: Vec<String> = [
        "http://a.test/touch.png",
        "http://a.test/touch-p.png",
        "http://a.test/f.woff2",
        "http://a.test/m.js",
        &format!("{d}body-bg.gif"),
        &format!("{d}t.gif"),
        &format!("{d}td.gif"),
        &format!("{d}th.gif"),
        &format!("{d}svg2.png"),
        &format!("{d}svg11.png"),
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(requisites(html), want);
}

#[test]
fn requisites_of_every_kind_in_document_order() {
    let html = r#"<html><head><base href="/b/">
        <link rel="Shortcut Icon" href="/favicon.ico"><link rel=stylesheet href="s.css?a=1&amp;b=2">
        <link rel=next href="/not-a-requisite"><link href="/no-rel.css">
        <style>@import "imp.css"; body { background: url('bg.png') }</style>
        <script src="app.js"></script><script>var x = "<img src=/in-script.png>";</script>
        </head><body style="background-image: url(&quot;body.png&quot;)">
        <img src="i.png" srcset="i-2x.png 2x, i-3x.png 3x"><img src="">
        <picture><source srcset="wide.webp 800w, narrow.webp 400w" type=image/webp><source src="s.mp4"></picture>
        <iframe src="frame.html"></iframe><embed src="e.swf"><object data="o.svg"></object>
        <video src="v.mp4" poster="poster.jpg"><track src="t.vtt"></video><audio src="a.mp3"></audio>
        <input type=IMAGE src="button.png"><input type=text src="not-an-image.png">
        <a href="/link" style="background: url(a-bg.png)">link</a><img src="data:image/gif;base64,R0lGOD">
        <img src="i.png#again"><img src="javascript:x"><!-- <img src="/comment.png"> -->
        <img src="//cdn.test/c.png"></body></html>"#;
    let b = "http://a.test/b/";
    let want: Vec<String> = [
        "http://a.test/favicon.ico",
        &format!("{b}s.css?a=1&b=2"),
        &format!("{b}imp.css"),
        &format!("{b}bg.png"),
        &format!("{b}app.js"),
        &format!("{b}body.png"),
        &format!("{b}i.png"),
        &format!("{b}i-2x.png"),
        &format!("{b}i-3x.png"),
        &format!("{b}wide.webp"),
        &format!("{b}narrow.webp"),
        &format!("{b}s.mp4"),
        &format!("{b}frame.html"),
        &format!("{b}e.swf"),
        &format!("{b}o.svg"),
        &format!("{b}v.mp4"),
        &format!("{b}poster.jpg"),
        &format!("{b}t.vtt"),
        &format!("{b}a.mp3"),
        &format!("{b}button.png"),
        &format!("{b}a-bg.png"),
        "http://cdn.test/c.png",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(requisites(html), want);
    // The links are what they were.
    let page = Url::parse("http://a.test/dir/page.html").unwrap();
    let on = scan_with(html, &page, 1000, encoding_rs::UTF_8, true);
    let off = scan(html, &page);
    assert_eq!((on.links, on.title), (off.links, off.title));
    let frames = r#"<frameset><frame src="top.html"><frame src="main.html"></frameset>"#;
    assert_eq!(
        requisites(frames),
        ["http://a.test/dir/top.html", "http://a.test/dir/main.html"]
    );
}

#[test]
fn requisites_past_the_cap_mark_the_scan_capped() {
    let page = Url::parse("http://a.test/").unwrap();
    let html = "<img src=/1.png><img src=/2.png><img src=/3.png><a href=/x>x</a>";
    let s = scan_with(html, &page, 2, encoding_rs::UTF_8, true);
    assert_eq!(s.requisites.len(), 2);
    // The requisites were cut, not the one link.
    assert!(s.requisites_capped && !s.capped);
    assert!(!scan_with(html, &page, 3, encoding_rs::UTF_8, true).requisites_capped);
}

#[test]
fn a_requisite_on_a_legacy_charset_page_has_its_query_in_that_charset() {
    let page = Url::parse("http://a.test/").unwrap();
    let html = "<img src=\"/caf\u{e9}.png?q=M\u{fc}nchen\">";
    let s = scan_with(html, &page, 9, encoding_rs::WINDOWS_1252, true);
    assert_eq!(
        s.requisites[0].as_str(),
        "http://a.test/caf%C3%A9.png?q=M%FCnchen"
    );
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
fn rel_nofollow_canonical_robots_meta_and_refresh() {
    let s = both(
        r#"<head><link rel="Canonical" href="/c?a=1&amp;b=2#x"><link rel=canonical href=/second>
           <meta name="ROBOTS" content="NoIndex, nofollow"><meta name=description content="know-how">
           <meta name=viewport content="width=device-width"><meta name="solo-crawl" content="none">
           <meta http-equiv="REFRESH" content="3; url=/next?a=1&amp;b=2"><meta http-equiv=refresh content="0;url=/x">
           </head><body><a rel="nofollow" href="/nf">1</a><a rel="ugc NOFOLLOW" href="/nf2">2</a>
           <a href="/f">3</a><a rel=nofollow href="/f">4</a><a rel="nofollow" href="/nf">5</a>
           <area rel=nofollow href="/area"></body>"#,
    );
    assert_eq!(
        s.canonical.as_ref().map(Url::as_str),
        Some("http://a.test/c?a=1&b=2")
    );
    assert_eq!(
        links(&s),
        [
            "http://a.test/c?a=1&b=2",
            "http://a.test/second",
            "http://a.test/nf",
            "http://a.test/nf2",
            "http://a.test/f",
            "http://a.test/area",
        ]
    );
    assert_eq!(s.rel_nofollow, [false, false, true, true, false, true]);
    assert_eq!(
        s.robots_meta,
        [
            ("robots".to_owned(), "NoIndex, nofollow".to_owned()),
            ("description".to_owned(), "know-how".to_owned()),
            ("solo-crawl".to_owned(), "none".to_owned()),
        ]
    );
    assert_eq!(s.refresh.as_deref(), Some("3; url=/next?a=1&b=2"));
    let named = both(r#"<meta name=x http-equiv=refresh content="0;url=/n"><meta content=none>"#);
    assert_eq!((named.refresh, named.robots_meta.len()), (None, 0));
    let plain = both("<a href=/x>x</a><link rel=stylesheet href=/s.css>");
    assert_eq!((plain.canonical, plain.refresh), (None, None));
    assert_eq!(plain.rel_nofollow, [false, false]);
    assert!(plain.robots_meta.is_empty());
    // A canonical that is not http(s) is none.
    assert_eq!(
        both("<link rel=canonical href='javascript:x'>").canonical,
        None
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
