//! The link scan's tokenizer against lol_html, the streaming HTML parser
//! the scan used before: both scans run on the same documents and must
//! find the same base, links (with their `nofollow`), canonical, meta
//! tags, title and requisites. The documents: edge cases written here,
//! documents put together at random from pieces of markup that trip
//! tokenizers, and (where the machine has them) the HTML pages of the Rust
//! documentation. Plus the tokenizer's own rules, one test each.

use super::{rel_has, stream, Metas, Streamed, MAX_NOSCRIPTS};

/// The scan as it was, on lol_html (the reference). Its memory limit is
/// raised past any document here, so that it never stops early.
fn lol(html: &str, requisites: bool, noscript: bool) -> Streamed {
    use lol_html::html_content::{Element, TextChunk};
    use lol_html::{ElementContentHandlers as On, HtmlRewriter, Selector, Settings};
    use std::borrow::Cow;
    use std::cell::{Cell, RefCell};
    use std::sync::OnceLock;

    static SELECTORS: OnceLock<[Selector; 5]> = OnceLock::new();
    let [base_sel, link_sel, meta_sel, title_sel, noscript_sel] = SELECTORS.get_or_init(|| {
        [
            "base[href]",
            "a[href], area[href], link[href]",
            "meta[content]",
            "title",
            "noscript",
        ]
        .map(|css| css.parse().expect("built-in selector"))
    });

    let base: RefCell<Option<String>> = RefCell::new(None);
    let hrefs: RefCell<Vec<(String, bool)>> = RefCell::new(Vec::new());
    let canonical: RefCell<Option<String>> = RefCell::new(None);
    let metas = RefCell::new(Metas::default());
    // The first <title> only: 0 before it, 1 inside, 2 after.
    let title_state = RefCell::new(0u8);
    let title = RefCell::new(String::new());
    let embeds: RefCell<Vec<String>> = RefCell::new(Vec::new());
    let style = RefCell::new(String::new());
    let noscript_text = RefCell::new(String::new());
    let noscripts = Cell::new(0usize);
    let mut handlers = vec![
        (
            Cow::Borrowed(base_sel),
            On::default().element(|el: &mut Element<'_, '_>| {
                let mut b = base.borrow_mut();
                if b.is_none() {
                    *b = el.get_attribute("href");
                }
                Ok(())
            }),
        ),
        (
            Cow::Borrowed(link_sel),
            On::default().element(|el: &mut Element<'_, '_>| {
                if let Some(h) = el.get_attribute("href") {
                    // Most links have no rel: look only when there is one.
                    let rel = el
                        .has_attribute("rel")
                        .then(|| el.get_attribute("rel"))
                        .flatten()
                        .map(htmlize::unescape_attribute);
                    let rel = rel.as_deref().unwrap_or("");
                    if el.tag_name() == "link" && rel_has(rel, "canonical") {
                        canonical.borrow_mut().get_or_insert_with(|| h.clone());
                    }
                    hrefs.borrow_mut().push((h, rel_has(rel, "nofollow")));
                }
                Ok(())
            }),
        ),
        (
            Cow::Borrowed(meta_sel),
            On::default().element(|el: &mut Element<'_, '_>| {
                let name = el.get_attribute("name");
                // A meta with a name is not a pragma: look no further.
                let equiv = match name {
                    None => el.get_attribute("http-equiv"),
                    Some(_) => None,
                };
                if name.is_some() || equiv.is_some() {
                    let dec = |v: Option<String>| v.map(htmlize::unescape_attribute);
                    metas.borrow_mut().add(
                        dec(name).as_deref(),
                        dec(equiv).as_deref(),
                        dec(el.get_attribute("content")).as_deref(),
                    );
                }
                Ok(())
            }),
        ),
        (
            Cow::Borrowed(title_sel),
            On::default().element(|_: &mut Element<'_, '_>| {
                let mut st = title_state.borrow_mut();
                if *st == 0 {
                    *st = 1;
                }
                Ok(())
            }),
        ),
        (
            Cow::Borrowed(title_sel),
            On::default().text(|t: &mut TextChunk<'_>| {
                let mut st = title_state.borrow_mut();
                if *st == 1 {
                    title.borrow_mut().push_str(t.as_str());
                    if t.last_in_text_node() {
                        *st = 2;
                    }
                }
                Ok(())
            }),
        ),
    ];
    if requisites {
        // Only now: with the option off, the selectors are today's.
        static EMBEDS: OnceLock<[Selector; 2]> = OnceLock::new();
        let [embed_sel, style_sel] = EMBEDS.get_or_init(|| {
            [crate::requisites::SELECTOR, "style"]
                .map(|css| css.parse().expect("built-in selector"))
        });
        handlers.push((
            Cow::Borrowed(embed_sel),
            On::default().element(|el: &mut Element<'_, '_>| {
                let attr = |name: &str| {
                    el.get_attribute(name)
                        .map(|v| htmlize::unescape_attribute(v).into_owned())
                };
                crate::requisites::element(&el.tag_name(), attr, &mut embeds.borrow_mut());
                Ok(())
            }),
        ));
        handlers.push((
            Cow::Borrowed(style_sel),
            On::default().text(|t: &mut TextChunk<'_>| {
                let mut text = style.borrow_mut();
                text.push_str(t.as_str());
                if t.last_in_text_node() {
                    crate::requisites::css(&text, &mut embeds.borrow_mut());
                    text.clear();
                }
                Ok(())
            }),
        ));
    }
    if noscript {
        handlers.push((
            Cow::Borrowed(noscript_sel),
            On::default().text(|t: &mut TextChunk<'_>| {
                if noscripts.get() == MAX_NOSCRIPTS {
                    return Ok(());
                }
                let mut text = noscript_text.borrow_mut();
                text.push_str(t.as_str());
                if t.last_in_text_node() {
                    noscripts.set(noscripts.get() + 1);
                    let inner = lol(&text, requisites, false);
                    hrefs.borrow_mut().extend(inner.hrefs);
                    embeds.borrow_mut().extend(inner.embeds);
                    text.clear();
                }
                Ok(())
            }),
        ));
    }
    let mut rewriter = HtmlRewriter::new(
        Settings {
            element_content_handlers: handlers,
            // Never bail out on ambiguous markup: take what comes.
            strict: false,
            // The parser's buffers and its stack of open elements: ~100
            // bytes a level, so millions of nested tags took 30x the
            // page in memory (1.9 GB for 57 MiB of <div>s), which no
            // body budget bounded. Real pages nest a few hundred deep.
            memory_settings: lol_html::MemorySettings {
                max_allowed_memory_usage: 64 << 20,
                ..lol_html::MemorySettings::new()
            },
            ..Settings::new()
        },
        |_: &[u8]| {},
    );
    let cut = if rewriter.write(html.as_bytes()).is_ok() {
        rewriter.end().is_err()
    } else {
        drop(rewriter);
        true
    };
    assert!(!cut, "the reference stopped early");
    Streamed {
        base: base.into_inner(),
        hrefs: hrefs.into_inner(),
        canonical: canonical.into_inner(),
        metas: metas.into_inner(),
        title: title.into_inner(),
        embeds: embeds.into_inner(),
    }
}

/// Both scans of `html`, with and without requisites, must agree.
fn same(html: &str) {
    for requisites in [false, true] {
        let ours = stream(html, requisites, true);
        let theirs = lol(html, requisites, true);
        assert_eq!(
            ours,
            theirs,
            "requisites {requisites}, document ({} bytes):\n{html}",
            html.len()
        );
    }
}

/// Markup that tokenizers trip on, put together at random below.
const PIECES: &[&str] = &[
    "<a href=/x>",
    "<a href='/y?a=1&amp;b=2'>",
    "<A HREF=\"/Z\" REL=nofollow>",
    "<a href=\"/q\" rel=\"nofollow noopener\">",
    "<area href=/ar>",
    "<link rel=canonical href=/c>",
    "<link rel=stylesheet href=/s.css>",
    "<link rel=\"icon\" href=\"/i.ico\">",
    "<base href=/b/>",
    "<meta name=robots content=noindex>",
    "<meta name=\"ROBOTS\" content=\"NOFOLLOW, noarchive\">",
    "<meta http-equiv=refresh content='0;url=/r'>",
    "<meta content=x name=googlebot>",
    "<title>T &amp; x</title>",
    "<title>",
    "</title>",
    "<script>",
    "</script>",
    "</script >",
    "</SCRIPT>",
    "<script>var a='<a href=/s>';</script>",
    "<script src=/j.js></script>",
    "<script><!--",
    "<!--<script>",
    "<script><!--<script></script><a href=/esc></script>-->",
    "<!--",
    "-->",
    "--!>",
    "<!-->",
    "<!--->",
    "<!-- <a href=/c1> -->",
    "-",
    "--",
    "<style>",
    "</style>",
    "<style>body{background:url(/bg.png)} @import '/imp.css';</style>",
    "<noscript>",
    "</noscript>",
    "<noscript><a href=/ns><img src=/nsimg></noscript>",
    "<textarea>",
    "</textarea>",
    "<textarea><a href=/ta></textarea>",
    "<svg><title>s</title></svg>",
    "<svg><style>a{}</style><a href=/svga>x</a></svg>",
    "<svg><image href=/si.png xlink:href=/xl.png /></svg>",
    "<![CDATA[<a href=/cd>]]>",
    "<p>",
    "</p>",
    "<div>",
    "</div>",
    "<br>",
    "<img src=/i.png srcset='/a.png 1x, /b.png 2x'>",
    "<img src=\"\">",
    "<video src=/v.mp4 poster=/p.jpg>",
    "<input type=image src=/in.png>",
    "<td background=/td.png>",
    "<span style=\"background:url('/st.png')\">",
    "<iframe src=/f>",
    "</iframe>",
    "<iframe><a href=/inframe></iframe>",
    "<xmp>",
    "</xmp>",
    "<noembed>",
    "</noembed>",
    "<noframes>",
    "</noframes>",
    "<a href=\"/cut",
    ">",
    "<",
    "</",
    "</>",
    "< a href=/notatag>",
    "<!doctype html>",
    "<!DOCTYPE html PUBLIC \"-//W3C//DTD\">",
    "<?php echo 1 ?>",
    "</ a>",
    "</1>",
    "<a href=/d href=/dup>",
    "<a\nhref\n=\n/nl\n>",
    "<a href=/u/>",
    "<a/href=/slash>",
    "<a =x href=/eq>",
    "<a href=\"/gt>in\">",
    "<a href=/amp?x=1&copy=2&lt=3>",
    "<a href = '  /spaces  ' >",
    "<a href>",
    "<a href=>",
    "<a title=\"a > b\" href=/after>",
    "<a href=/x title='it''s'>",
    "</a title=\">\">",
    "text ",
    "&amp;",
    "&lt;a href=/ent&gt;",
    "<br/>",
    "<font color=red>",
    "<font>",
    "<table background=/tb.png>",
    "<body background=/body.png>",
    "<object data=/o.swf>",
    "<embed src=/e.swf>",
    "\u{e9}t\u{e9} ",
    "<a href=/caf\u{e9}>",
    "<\u{e9}l\u{e9}ment href=/u>",
    "<a href=/one><a href=/two>",
    "<title>first</title><title>second</title>",
];

/// The pieces that open or close SVG and MathML content alone: in pairs
/// only (see the random documents below).
const OPEN_FOREIGN: &[&str] = &[
    "<svg>",
    "</svg>",
    "<math>",
    "</math>",
    "<mi>",
    "</mi>",
    "<foreignObject>",
    "</foreignObject>",
    "<![CDATA[",
    "]]>",
];

#[test]
fn each_piece_alone_and_in_pairs_scans_as_lol_html_scans_it() {
    let all: Vec<&str> = PIECES.iter().chain(OPEN_FOREIGN).copied().collect();
    for a in &all {
        same(a);
        for b in &all {
            same(&format!("{a}{b}"));
        }
    }
}

#[test]
fn random_documents_scan_as_lol_html_scans_them() {
    // SVG and MathML only as whole elements here: left open, they meet
    // markup where lol_html departs from the standard (at `<table>` it
    // leaves the innermost namespace only, where the standard leaves them
    // all; after any end tag inside `<svg>` it gives an SVG `<title>` no
    // text). The tokenizer's own tests hold the standard's rules there.
    let mut rng = crate::test_rng::Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let n = 1 + rng.below(24) as usize;
        let doc: String = (0..n)
            .map(|_| PIECES[rng.below(PIECES.len() as u64) as usize])
            .collect();
        same(&doc);
    }
}

/// Real pages: the Rust documentation's HTML, where the machine has it
/// (rustup installs it with the toolchain; CI's may not).
#[test]
fn the_rust_documentation_scans_as_lol_html_scans_it() {
    let Some(home) = std::env::var_os("RUSTUP_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".rustup")))
    else {
        return;
    };
    let mut pending = vec![home.join("toolchains")];
    let mut pages = 0;
    while pages < 3_000 {
        let Some(dir) = pending.pop() else {
            break;
        };
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|x| x == "html") && pages < 3_000 {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    same(&text);
                    pages += 1;
                }
            }
        }
    }
    eprintln!("{pages} pages of the Rust documentation compared");
}
