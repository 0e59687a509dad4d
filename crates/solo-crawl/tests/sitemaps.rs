//! Sitemaps go through the frontier like any request: robots.txt
//! `Sitemap:` lines, indexes, gzip, `sitemap_rules`, and hostile
//! sitemaps cut by the bounds.

mod common;

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use common::*;
use solo_crawl::demo_site::SiteResponse;
use solo_crawl::{Config, Output, Request, Response, Spider};
use solo_crawl::{SitemapLimits, SitemapRules};
use url::Url;

fn xml(body: String) -> SiteResponse {
    SiteResponse::typed(200, "application/xml", body)
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn urlset(base: &Url, entries: &[(&str, Option<&str>)]) -> String {
    let mut s = String::from(
        r#"<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">"#,
    );
    for (p, lastmod) in entries {
        s.push_str(&format!("<url><loc>{}</loc>", base.join(p).unwrap()));
        if let Some(l) = lastmod {
            s.push_str(&format!("<lastmod>{l}</lastmod>"));
        }
        s.push_str("</url>");
    }
    s + "</urlset>"
}

fn index(base: &Url, sitemaps: &[&str]) -> String {
    let mut s = String::from("<sitemapindex>");
    for p in sitemaps {
        s.push_str(&format!(
            "<sitemap><loc>{}</loc></sitemap>",
            base.join(p).unwrap()
        ));
    }
    s + "</sitemapindex>"
}

/// The site's base URL, known before the routes are made: a second
/// listener would need another port, so routes build URLs from the
/// `Host` the test learns after start; here relative `<loc>`s suffice.
fn rel() -> Url {
    Url::parse("http://placeholder.invalid/").unwrap()
}

/// Makes `<loc>`s relative to the sitemap (they resolve against it).
fn relative(s: String) -> String {
    s.replace("http://placeholder.invalid/", "/")
}

#[test]
fn sitemaps_listed_in_robots_txt_are_crawled_with_lastmod() {
    solo::run(async {
        let robots = "User-agent: *\nDisallow: /private\nSitemap: /sitemap.xml\n";
        let site = start(routes(vec![
            (
                "/robots.txt",
                SiteResponse::typed(200, "text/plain", robots),
            ),
            ("/", page("root", &[])),
            (
                "/sitemap.xml",
                xml(relative(urlset(
                    &rel(),
                    &[
                        ("/a", Some("2024-05-01")),
                        ("/b", None),
                        ("/private/c", None),
                    ],
                ))),
            ),
            ("/a", page("a", &[])),
            ("/b", page("b", &[])),
            ("/private/c", page("c", &[])),
        ]))
        .await;
        let cfg = Config {
            obey_robots: true,
            sitemaps: true,
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![site.base.clone()], cfg.clone()).await;
        assert_eq!((site.count("/a"), site.count("/b")), (1, 1));
        // The sitemap's pages obey robots.txt like any other.
        assert_eq!(site.count("/private/c"), 0);
        let a = record(&recs, "/a");
        assert_eq!(a.lastmod.as_deref(), Some("2024-05-01"));
        assert_eq!(a.referer, Some(site.url("/sitemap.xml").to_string()));
        assert_eq!(record(&recs, "/b").lastmod, None);
        assert_eq!(record(&recs, "/sitemap.xml").links, 3);
        assert_eq!(summary.counts.sitemap["read"], 2); // robots.txt and the sitemap
        assert_eq!(summary.counts.sitemap["urls"], 3);
        assert_eq!(summary.filtered.get("robots"), Some(&1));
        // robots.txt fetched once: its rules and its `Sitemap:` lines.
        assert_eq!(site.count("/robots.txt"), 1);
        assert_eq!(record(&recs, "/robots.txt").status, Some(200));

        // Without --sitemaps nothing of it is read.
        site.hits.borrow_mut().clear();
        let (_, _) = crawl_links(
            vec![site.base.clone()],
            Config {
                sitemaps: false,
                ..cfg
            },
        )
        .await;
        assert_eq!((site.count("/sitemap.xml"), site.count("/a")), (0, 0));
    });
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
enum Cb {
    #[default]
    Other,
    Product,
}

/// A SitemapSpider: pages under /product/ parsed by `Product`, the rest
/// of the sitemap skipped.
struct Shop {
    sitemap: Url,
    rules: SitemapRules<Cb>,
    /// Each product page's path and `Response::lastmod`.
    lastmods: Rc<RefCell<Vec<PathAndLastmod>>>,
}

type PathAndLastmod = (String, Option<String>);

impl Spider for Shop {
    type Callback = Cb;
    fn start_requests(&self) -> Vec<Request<Cb>> {
        vec![Request::sitemap(self.sitemap.clone(), Cb::Other)]
    }
    fn sitemap_callback(&self, url: &Url) -> Option<Cb> {
        self.rules.callback(url)
    }
    async fn parse(&self, cb: Cb, response: &Response, out: &mut Output<Cb>) {
        if let Cb::Product = cb {
            out.item(serde_json::json!({ "product": response.url().path() }));
            self.lastmods.borrow_mut().push((
                response.url().path().to_owned(),
                response.lastmod().map(str::to_owned),
            ));
        }
    }
}

#[test]
fn an_index_of_gzip_urlsets_with_sitemap_rules() {
    solo::run(async {
        let s1 = gz(relative(urlset(
            &rel(),
            &[("/product/1", Some("2024-01-01")), ("/about", None)],
        ))
        .as_bytes());
        let s2 = gz(relative(urlset(&rel(), &[("/product/2", None)])).as_bytes());
        let site = start(routes(vec![
            (
                "/index.xml",
                xml(
                    relative(index(&rel(), &["/s1.xml.gz", "/s2.xml", "/missing.xml"])).replace(
                        "</sitemapindex>",
                        "<sitemap><loc>http://other.invalid/s.xml</loc></sitemap></sitemapindex>",
                    ),
                ),
            ),
            // An .xml.gz file, and a gzip-encoded answer.
            (
                "/s1.xml.gz",
                SiteResponse::typed(200, "application/x-gzip", s1),
            ),
            (
                "/s2.xml",
                SiteResponse::typed(200, "application/xml", s2)
                    .with_header("Content-Encoding", "gzip"),
            ),
            ("/product/1", page("p1", &[])),
            ("/product/2", page("p2", &[])),
            ("/about", page("about", &[])),
        ]))
        .await;
        let shop = Shop {
            sitemap: site.url("/index.xml"),
            rules: SitemapRules::new([("/product/", Cb::Product)]).unwrap(),
            lastmods: Rc::default(),
        };
        let lastmods = shop.lastmods.clone();
        let (summary, recs) = crawl(shop, quick()).await;
        // The spider sees each entry's lastmod on the response.
        let mut seen = lastmods.borrow().clone();
        seen.sort();
        assert_eq!(
            seen,
            [
                ("/product/1".to_owned(), Some("2024-01-01".to_owned())),
                ("/product/2".to_owned(), None)
            ]
        );
        assert_eq!((site.count("/product/1"), site.count("/product/2")), (1, 1));
        assert_eq!(site.count("/about"), 0, "no rule matches /about");
        assert_eq!(summary.counts.items, 2);
        assert_eq!(
            record(&recs, "/product/1").lastmod.as_deref(),
            Some("2024-01-01")
        );
        assert_eq!(record(&recs, "/missing.xml").status, Some(404));
        assert_eq!(summary.filtered.get("offsite"), Some(&1));
        assert_eq!(summary.counts.sitemap["read"], 3);
        // Sitemaps are depth 0 however nested; their pages depth 1.
        assert_eq!(record(&recs, "/s1.xml.gz").depth, 0);
        assert_eq!(record(&recs, "/product/1").depth, 1);
    });
}

#[test]
fn hostile_sitemaps_are_cut_by_the_bounds() {
    solo::run(async {
        let site = start(|path: String| {
            let r = if let Some(n) = path.strip_prefix("/deep/") {
                // An endless chain of indexes, each listing two deeper.
                let n: u32 = n.trim_end_matches(".xml").parse().unwrap_or(0);
                let kids = [
                    format!("/deep/{}.xml", 2 * n + 1),
                    format!("/deep/{}.xml", 2 * n + 2),
                ];
                xml(relative(index(&rel(), &[&kids[0], &kids[1]])))
            } else if path == "/huge.xml" {
                let entries: Vec<String> = (0..100_000).map(|i| format!("/p/{i}")).collect();
                let e: Vec<(&str, Option<&str>)> =
                    entries.iter().map(|p| (p.as_str(), None)).collect();
                xml(relative(urlset(&rel(), &e)))
            } else if path == "/bomb.xml.gz" {
                let mut zeros = b"<urlset>".to_vec();
                zeros.resize(40 << 20, b' ');
                SiteResponse::typed(200, "application/gzip", gz(&zeros))
            } else if path.starts_with("/p/") {
                page("p", &[])
            } else {
                SiteResponse::status(404)
            };
            std::future::ready(r)
        })
        .await;
        let cfg = Config {
            sitemap_urls: vec![
                site.url("/deep/0.xml"),
                site.url("/huge.xml"),
                site.url("/bomb.xml.gz"),
            ],
            sitemap_limits: SitemapLimits {
                max_bytes: 8 << 20,
                max_urls: 1000,
                max_total_urls: 300,
                max_nesting: 2,
            },
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![], cfg).await;
        let s = &summary.counts.sitemap;
        // 0 → 1, 2 → 3..6; the indexes at nesting 2 list 8 too deep.
        assert_eq!(
            site.paths()
                .iter()
                .filter(|p| p.starts_with("/deep/"))
                .count(),
            7
        );
        assert_eq!(s["too_deep"], 8, "{s:?}");
        assert_eq!(s["too_many_urls"], 1, "{s:?}");
        assert_eq!(s["too_big"], 1, "{s:?}");
        assert_eq!(s["total_urls"], 1, "{s:?}");
        assert_eq!(s["urls"], 300);
        assert_eq!(
            site.paths().iter().filter(|p| p.starts_with("/p/")).count(),
            300
        );
        assert_eq!(record(&recs, "/huge.xml").links, 1000);
        assert_eq!(summary.seeds_failed, Vec::<String>::new());
    });
}

/// A news crawl (Scrapy's `sitemap_filter`).
struct News {
    index: Url,
}

impl Spider for News {
    type Callback = Cb;
    fn start_requests(&self) -> Vec<Request<Cb>> {
        vec![Request::sitemap(self.index.clone(), Cb::Other)]
    }
    fn sitemap_filter(&self, url: &Url, _lastmod: Option<&str>) -> bool {
        !url.path().contains("skip")
    }
    async fn parse(&self, _: Cb, _: &Response, _: &mut Output<Cb>) {}
}

/// `Config::sitemap_newer_than` skips entries whose `<lastmod>` is older,
/// pages and sub-sitemaps alike, before they are fetched (an old monthly
/// sitemap is never read); undated entries are taken; the spider's
/// `sitemap_filter` turns away others. Skips are counted as `old` and
/// `filtered`. Before, every entry was fetched and a news job filtered
/// the articles in `parse`, after downloading them.
#[test]
fn old_sitemap_entries_and_filtered_ones_are_not_fetched() {
    solo::run(async {
        let now = time::OffsetDateTime::now_utc();
        let today = format!("{}", now.date());
        let index = format!(
            "<sitemapindex><sitemap><loc>/2019-01.xml</loc><lastmod>2019-02-01T00:00Z</lastmod></sitemap>\
             <sitemap><loc>/current.xml</loc><lastmod>{today}</lastmod></sitemap></sitemapindex>"
        );
        let current = relative(urlset(
            &rel(),
            &[
                ("/a/new", Some(&today)),
                ("/a/old", Some("2019-01-01T08:00:00+01:00")),
                ("/a/undated", None),
                ("/a/skip-me", Some(&today)),
            ],
        ));
        let site = start(routes(vec![
            ("/index.xml", xml(index)),
            (
                "/2019-01.xml",
                xml(relative(urlset(&rel(), &[("/a/jan", None)]))),
            ),
            ("/current.xml", xml(current)),
            ("/a/new", page("new", &[])),
            ("/a/old", page("old", &[])),
            ("/a/undated", page("undated", &[])),
            ("/a/skip-me", page("skip", &[])),
        ]))
        .await;
        let cfg = Config {
            sitemap_newer_than: Some(std::time::Duration::from_secs(30 * 86_400)),
            ..quick()
        };
        let news = News {
            index: site.url("/index.xml"),
        };
        let (summary, _) = crawl(news, cfg).await;
        assert_eq!(site.count("/2019-01.xml"), 0, "an old sitemap is not read");
        assert_eq!(site.count("/current.xml"), 1);
        assert_eq!((site.count("/a/new"), site.count("/a/undated")), (1, 1));
        assert_eq!((site.count("/a/old"), site.count("/a/skip-me")), (0, 0));
        assert_eq!(summary.counts.sitemap["old"], 2);
        assert_eq!(summary.counts.sitemap["filtered"], 1);
    });
}
