//! solo-crawl's link scan (its own streaming tokenizer,
//! `crates/solo-crawl/src/html_tokens.rs`) against lol_html (a streaming
//! rewriter with CSS-selector handlers, which the scan used before) and
//! scraper (html5ever, a full DOM, which it used first), on the work
//! solo-crawl does for every page: find the `<title>` and every
//! `a[href]`, `area[href]`, `link[href]`, resolved against the first
//! `<base href>`. All three hand their finds to the same rest of the scan
//! (character references expanded, URLs joined: `solo_crawl::__bench`),
//! so only the parsing differs. This is the measurement behind the choice
//! in `crates/solo-crawl/src/links.rs` ("pick by measurement").
//!
//! ```text
//! cargo run --release -p solo-bench --bin html-parse [-- --reps 5 --json FILE]
//! ```
//!
//! Two corpora, generated here (deterministic): `small`, the ~2.4 KB pages
//! of the crawl benchmark's site (bench/crawl/gen_site.py), and `large`,
//! ~100 KB pages shaped like a news front page (nested markup, 400 links,
//! inline scripts and styles holding `href=` text that is not a link,
//! comments, a `<base>`). All three must return the same title and the
//! same links for every page or the run fails. Two more rows add one user
//! CSS query (`li a`), which needs a DOM: `scraper+select` is what
//! solo-crawl does when a spider selects before the links are asked for
//! (the scan then reuses the DOM), `solo-crawl+select` the worst case, a
//! streaming scan and then a DOM.
//!
//! Each (corpus, library) runs `--reps` times, alternating; the median
//! pages/s and MB/s are printed and, with `--json`, written as JSON lines
//! (workload `html-small` / `html-large`, runtime = library).
//!
//! `--passes N` instead only scans both corpora N times with solo-crawl's
//! streaming scan and prints the link count: a fixed amount of work, for
//! instruction counts that a busy machine does not change (`valgrind
//! --tool=callgrind`, N against 0: the difference is N passes of 208
//! pages); with `--requisites`, the scan of `--page-requisites`.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

use scraper::{Html, Selector};
use url::Url;

/// What the crawler needs from a page.
#[derive(Debug, PartialEq, Eq)]
struct Scan {
    title: Option<String>,
    links: Vec<String>,
}

struct Selectors {
    li_a: Selector,
}

/// solo-crawl's scan of a scraper DOM (what it did for every page before).
fn scan_scraper(html: &str, page: &Url) -> Scan {
    scan_doc(&Html::parse_document(html), page)
}

fn scan_doc(doc: &Html, page: &Url) -> Scan {
    scan_result(solo_crawl::__bench::scan_dom(doc, page))
}

/// solo-crawl's streaming scan, as it runs now.
fn scan_solo(html: &str, page: &Url) -> Scan {
    scan_result(solo_crawl::__bench::scan(html, page))
}

/// The same finds through lol_html: the first `<base href>`, every
/// `a[href]`, `area[href]`, `link[href]`, the first text of the first
/// `<title>`; the selectors parsed once, the rewriter built per page (its
/// API builds the selector program there).
fn scan_lol(html: &str, page: &Url) -> Scan {
    use lol_html::html_content::{Element, TextChunk};
    use lol_html::{ElementContentHandlers as On, HtmlRewriter, Selector, Settings};
    use std::borrow::Cow;
    use std::cell::RefCell;
    use std::sync::OnceLock;
    static SELECTORS: OnceLock<[Selector; 3]> = OnceLock::new();
    let [base_sel, link_sel, title_sel] = SELECTORS.get_or_init(|| {
        ["base[href]", "a[href], area[href], link[href]", "title"]
            .map(|css| css.parse().expect("selector"))
    });
    let base: RefCell<Option<String>> = RefCell::new(None);
    let hrefs = RefCell::new(Vec::new());
    // 0 before the first title, 1 in it, 2 after its text.
    let title_state = RefCell::new(0u8);
    let title = RefCell::new(String::new());
    let handlers = vec![
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
                hrefs.borrow_mut().extend(el.get_attribute("href"));
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
    let mut rewriter = HtmlRewriter::new(
        Settings {
            element_content_handlers: handlers,
            strict: false,
            ..Settings::new()
        },
        |_: &[u8]| {},
    );
    rewriter.write(html.as_bytes()).expect("lol_html write");
    rewriter.end().expect("lol_html end");
    scan_result(solo_crawl::__bench::scan_of_parts(
        page,
        base.into_inner(),
        hrefs.into_inner(),
        title.into_inner(),
    ))
}

fn scan_result(s: solo_crawl::PageScan) -> Scan {
    Scan {
        title: s.title,
        links: s.links.into_iter().map(String::from).collect(),
    }
}

/// The crawl benchmark's page `i` of `n` (same shape as gen_site.py).
fn small_page(i: usize, n: usize) -> String {
    let href = |j: usize| {
        if j == 0 {
            "/index.html".to_owned()
        } else {
            format!("/p/{}/{j}.html", j / 1000)
        }
    };
    let mut links = String::new();
    let mut seen = HashSet::new();
    for j in [
        2 * i + 1,
        2 * i + 2,
        (i + 1) % n,
        (7 * i + 3) % n,
        (31 * i + 17) % n,
    ] {
        if j < n && j != i && seen.insert(j) {
            let _ = writeln!(links, "<li><a href=\"{}\">page {j}</a></li>", href(j));
        }
    }
    let filler = format!(
        "<p>{}</p>\n",
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor \
         incididunt ut labore et dolore magna aliqua. "
            .repeat(3)
    );
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Page {i}</title></head>\n\
         <body>\n<h1>Page {i}</h1>\n<ul>\n{links}</ul>\n{}</body></html>\n",
        filler.repeat(4)
    )
}

/// A ~100 KB front-page-like document, varied by `i`.
fn large_page(i: usize) -> String {
    let mut s = String::with_capacity(110_000);
    let _ = write!(
        s,
        "<!doctype html><html lang=en><head><meta charset=utf-8>\n\
         <title>\n  Front page {i} &amp; more\n</title>\n\
         <base href=\"https://news.example/edition/{i}/\">\n\
         <link rel=stylesheet href=\"/static/site.css?v={i}\">\n\
         <style>.x{{background:url(\"/img/bg.png\")}} a[href]{{color:red}}</style>\n\
         <script>var t = '<a href=\"/not-a-link\">'; if (a < b && c > d) {{ x(); }}</script>\n\
         </head><body class=\"home\">\n<!-- <a href=\"/commented-out\"> -->\n"
    );
    for sec in 0..20 {
        let _ = write!(
            s,
            "<section id=s{sec}><h2><a href=\"section/{sec}#top\">Section {sec}</a></h2>\n<div class=grid>"
        );
        for art in 0..20 {
            let k = i * 1000 + sec * 20 + art;
            let _ = writeln!(
                s,
                "<article class=\"card c{art}\"><div class=media><img src=\"/img/{k}.jpg\" alt=\"\" \
                 width=300 height=200></div><div class=body><h3><a href=\"/story/{k}?ref=home&amp;s={sec}\" \
                 data-track=\"{k}\">Headline number {k} about something</a></h3><p>A short teaser of \
                 the story with <b>bold</b> and <i>italic</i> text, about two lines long, so that \
                 the document has realistic text between tags.</p><ul class=meta><li><span>by</span> \
                 <a href=\"//authors.example/{art}\">Author {art}</a><li><time datetime=2026-11-26>\
                 today</time></ul></div></article>"
            );
        }
        s.push_str("</div></section>\n");
    }
    s.push_str(
        "<footer><a href=\"mailto:desk@news.example\">mail</a> <a href=\"javascript:void(0)\">js</a> \
         <a href=\"https://other.example/\">partner</a></footer></body></html>\n",
    );
    s
}

struct Row {
    corpus: &'static str,
    lib: &'static str,
    pages_per_s: Vec<f64>,
    mb_per_s: Vec<f64>,
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Runs `f` over `pages` until at least `min` elapsed; returns (pages/s, MB/s).
fn time(pages: &[String], min: Duration, mut f: impl FnMut(&str) -> usize) -> (f64, f64) {
    let start = Instant::now();
    let mut n = 0usize;
    let mut bytes = 0usize;
    let mut sink = 0usize;
    while start.elapsed() < min {
        for p in pages {
            sink = sink.wrapping_add(f(p));
            n += 1;
            bytes += p.len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    std::hint::black_box(sink);
    (n as f64 / secs, bytes as f64 / secs / 1e6)
}

fn main() {
    let mut reps = 5usize;
    let mut json: Option<String> = None;
    let mut passes: Option<usize> = None;
    let mut requisites = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => reps = args.next().and_then(|v| v.parse().ok()).unwrap_or(5).max(1),
            "--json" => json = args.next(),
            "--passes" => passes = args.next().and_then(|v| v.parse().ok()),
            "--requisites" => requisites = true,
            _ => {
                eprintln!("usage: html-parse [--reps N] [--json FILE] [--passes N [--requisites]]");
                std::process::exit(2);
            }
        }
    }
    let sel = Selectors {
        li_a: Selector::parse("li a").expect("selector"),
    };
    let page_url = Url::parse("http://127.0.0.1:8080/p/1/1234.html").expect("url");
    let small: Vec<String> = (0..200).map(|i| small_page(i * 37, 100_000)).collect();
    let large: Vec<String> = (0..8).map(large_page).collect();
    if let Some(n) = passes {
        let mut found = 0usize;
        for _ in 0..n {
            for p in small.iter().chain(&large) {
                found += if requisites {
                    solo_crawl::__bench::scan_requisites(p, &page_url)
                        .requisites
                        .len()
                } else {
                    solo_crawl::__bench::scan(p, &page_url).links.len()
                };
            }
        }
        println!("{found} URLs in {n} passes");
        return;
    }

    // All must agree on every page, or the comparison means nothing.
    for p in small.iter().chain(&large) {
        let a = scan_solo(p, &page_url);
        assert_eq!(
            a,
            scan_scraper(p, &page_url),
            "solo-crawl and scraper disagree"
        );
        assert_eq!(
            a,
            scan_lol(p, &page_url),
            "solo-crawl and lol_html disagree"
        );
        assert!(a.title.is_some() && !a.links.is_empty(), "empty scan");
    }
    let large_links = scan_solo(&large[0], &page_url).links.len();
    assert!(large_links > 400, "large page has {large_links} links");

    let corpora: [(&'static str, &Vec<String>); 2] = [("small", &small), ("large", &large)];
    let mut rows: Vec<Row> = Vec::new();
    for (c, _) in &corpora {
        for lib in [
            "solo-crawl",
            "lol_html",
            "scraper",
            "scraper+select",
            "solo-crawl+select",
        ] {
            rows.push(Row {
                corpus: c,
                lib,
                pages_per_s: Vec::new(),
                mb_per_s: Vec::new(),
            });
        }
    }
    let min = Duration::from_millis(400);
    for _ in 0..reps {
        for row in &mut rows {
            let pages = corpora
                .iter()
                .find(|(c, _)| *c == row.corpus)
                .map(|(_, p)| *p)
                .expect("corpus");
            let (pps, mbs) = match row.lib {
                "solo-crawl" => time(pages, min, |p| scan_solo(p, &page_url).links.len()),
                "lol_html" => time(pages, min, |p| scan_lol(p, &page_url).links.len()),
                "scraper" => time(pages, min, |p| scan_scraper(p, &page_url).links.len()),
                "scraper+select" => time(pages, min, |p| {
                    let doc = Html::parse_document(p);
                    scan_doc(&doc, &page_url).links.len() + doc.select(&sel.li_a).count()
                }),
                _ => time(pages, min, |p| {
                    let s = scan_solo(p, &page_url);
                    let doc = Html::parse_document(p);
                    s.links.len() + doc.select(&sel.li_a).count()
                }),
            };
            row.pages_per_s.push(pps);
            row.mb_per_s.push(mbs);
        }
    }

    println!("title + links per page, median of {reps} reps (each >= {min:?})");
    println!(
        "{:<8} {:<18} {:>12} {:>9} {:>11} {:>11}",
        "corpus", "library", "pages/s", "MB/s", "vs scraper", "vs lol_html"
    );
    let mut lines = String::new();
    for row in &rows {
        let pps = median(&row.pages_per_s);
        let mbs = median(&row.mb_per_s);
        let of = |lib: &str| {
            rows.iter()
                .find(|r| r.corpus == row.corpus && r.lib == lib)
                .map(|r| median(&r.pages_per_s))
                .unwrap_or(pps)
        };
        println!(
            "{:<8} {:<18} {:>12.0} {:>9.1} {:>10.2}x {:>10.2}x",
            row.corpus,
            row.lib,
            pps,
            mbs,
            pps / of("scraper"),
            pps / of("lol_html")
        );
        let _ = writeln!(
            lines,
            "{{\"workload\":\"html-{}\",\"runtime\":\"{}\",\"metric\":\"throughput\",\"value\":{:.1},\
             \"unit\":\"pages/s\",\"higher_is_better\":true,\"reps\":{reps}}}",
            row.corpus, row.lib, pps
        );
    }
    if let Some(path) = json {
        let mut f = std::fs::File::create(&path).expect("create json file");
        f.write_all(lines.as_bytes()).expect("write json");
        println!("wrote {path}");
    }
}
