//! What pages say about crawling them — robots meta, `X-Robots-Tag`,
//! `rel="nofollow"`, canonical, meta refresh — on sites that count what
//! they serve.

mod common;

use common::*;
use solo_crawl::demo_site::SiteResponse;
use solo_crawl::{Config, FormRequest, Output, Request, Response, Spider};

fn html(body: &str) -> SiteResponse {
    SiteResponse::html(body.to_owned())
}

#[test]
fn nofollow_and_noindex_from_meta_and_header_are_obeyed_and_recorded() {
    solo::run(async {
        let site = start(routes(vec![
            (
                "/",
                page(
                    "root",
                    &["/meta", "/header", "/agent", "/other-bot", "/index"],
                ),
            ),
            (
                "/meta",
                html(r#"<meta name="ROBOTS" content="noindex, NOFOLLOW"><a href="/m1">x</a>"#),
            ),
            (
                "/header",
                page("h", &["/h1"]).with_header("X-Robots-Tag", "nofollow"),
            ),
            (
                "/agent",
                html(r#"<meta name="solo-crawl" content="none"><a href="/a1">x</a>"#),
            ),
            (
                "/other-bot",
                page("o", &["/o1"]).with_header("X-Robots-Tag", "otherbot: nofollow"),
            ),
            (
                "/index",
                html(r#"<meta name="robots" content="noindex"><a href="/i1">x</a>"#),
            ),
            ("/m1", page("m1", &[])),
            ("/h1", page("h1", &[])),
            ("/a1", page("a1", &[])),
            ("/o1", page("o1", &[])),
            ("/i1", page("i1", &[])),
        ]))
        .await;
        let obey = Config {
            obey_robots: true,
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![site.base.clone()], obey).await;
        for p in ["/m1", "/h1", "/a1"] {
            assert_eq!(site.count(p), 0, "{p} was followed from a nofollow page");
        }
        assert_eq!((site.count("/o1"), site.count("/i1")), (1, 1));
        let flags = |p| {
            let r = record(&recs, p);
            (r.noindex, r.nofollow)
        };
        assert_eq!(flags("/meta"), (true, true));
        assert_eq!(flags("/header"), (false, true));
        assert_eq!(flags("/agent"), (true, true));
        assert_eq!(flags("/other-bot"), (false, false));
        assert_eq!(flags("/index"), (true, false));
        assert_eq!(flags("/"), (false, false));
        assert_eq!(summary.counts.nofollow, 3);

        // Robots ignored (quick() has obey_robots: false): followed
        // anyway, still recorded.
        site.hits.borrow_mut().clear();
        let (_, recs) = crawl_links(vec![site.base.clone()], quick()).await;
        for p in ["/m1", "/h1", "/a1"] {
            assert_eq!(site.count(p), 1, "{p}");
        }
        assert_eq!(
            (
                record(&recs, "/meta").noindex,
                record(&recs, "/meta").nofollow
            ),
            (true, true)
        );
    });
}

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
enum Cb {
    #[default]
    Login,
    Api,
    Other,
}

/// Logs in through the form of `/login` and follows its links (both
/// ways), asks for a URL of its own, and pages through `/api`.
struct FormAndApi(url::Url);

impl Spider for FormAndApi {
    type Callback = Cb;
    fn start_requests(&self) -> Vec<Request<Cb>> {
        ["/login", "/api?page=1"]
            .map(|p| {
                let cb = if p == "/login" { Cb::Login } else { Cb::Api };
                Request::new(self.0.join(p).unwrap(), cb)
            })
            .into()
    }
    async fn parse(&self, cb: Cb, response: &Response, out: &mut Output<Cb>) {
        match cb {
            Cb::Login => {
                let login = FormRequest::from_response(response)
                    .formdata([("user", "ann")])
                    .request(Cb::Other)
                    .unwrap();
                out.follow(login);
                for link in response.links() {
                    out.follow(Request::new(link.clone(), Cb::Other));
                }
                out.follow(response.follow("/about", Cb::Other).unwrap());
                out.follow(Request::new(self.0.join("/built").unwrap(), Cb::Other));
                // The page again, on purpose (a soft ban's retry): it
                // links to itself, yet this is no link it follows.
                out.follow(response.request(Cb::Other).dont_filter());
            }
            Cb::Api => {
                let page: serde_json::Value = response.json().unwrap();
                if let Some(next) = page["next"].as_str() {
                    out.follow(Request::new(response.url().join(next).unwrap(), Cb::Api));
                }
            }
            Cb::Other => {}
        }
    }
}

#[test]
fn a_nofollow_page_stops_its_links_not_the_requests_a_spider_builds() {
    solo::run(async {
        let api = |n: u32| {
            let next = if n < 3 {
                format!("\"/api?page={}\"", n + 1)
            } else {
                "null".into()
            };
            SiteResponse::typed(
                200,
                "application/json",
                format!(r#"{{"page":{n},"next":{next}}}"#),
            )
            .with_header("X-Robots-Tag", "noindex, nofollow")
        };
        let site = start(routes(vec![
            (
                "/login",
                html(
                    r#"<meta name="robots" content="noindex, nofollow">
                       <a href="/help">help</a> <a href="/about">about</a> <a href="/login">again</a>
                       <form method="post" action="/session"><input name="user"></form>"#,
                ),
            ),
            ("/session", page("in", &[])),
            ("/help", page("help", &[])),
            ("/about", page("about", &[])),
            ("/built", page("built", &[])),
            ("/api?page=1", api(1)),
            ("/api?page=2", api(2)),
            ("/api?page=3", api(3)),
        ]))
        .await;
        let obey = Config {
            obey_robots: true,
            ..quick()
        };
        let (summary, recs) = crawl(FormAndApi(site.base.clone()), obey).await;
        // The login POST, the URL the spider built, the API's pages: sent.
        for p in ["/session", "/built", "/api?page=2", "/api?page=3"] {
            assert_eq!(site.count(p), 1, "{p}: {:?}", site.paths());
        }
        // The page's own links, through links() or follow(): not.
        for p in ["/help", "/about"] {
            assert_eq!(site.count(p), 0, "{p} was followed from a nofollow page");
        }
        // Asked for again with dont_filter: sent (it was dropped).
        assert_eq!(site.count("/login"), 2);
        assert!(record(&recs, "/login").nofollow);
        assert!(record(&recs, "/api?page=1").nofollow);
        // /help, /about and /login from links(), /about again from follow().
        assert_eq!(summary.counts.nofollow, 4);
    });
}

/// A `Link: <...>; rel="canonical"` header gives the canonical of a page
/// that has no `<link rel="canonical">` (a PDF, a page whose server
/// adds it), as Google and Screaming Frog read it; the HTML one wins.
#[test]
fn a_canonical_link_header_is_recorded() {
    solo::run(async {
        let site = start(routes(vec![
            ("/", page("root", &["/doc.pdf", "/both"])),
            (
                "/doc.pdf",
                SiteResponse::typed(200, "application/pdf", "%PDF-1.4")
                    .with_header("link", r#"</docs/doc.html>; rel="canonical""#),
            ),
            (
                "/both",
                html(r#"<link rel="canonical" href="/from-html">"#)
                    .with_header("link", "</from-header>; rel=canonical"),
            ),
        ]))
        .await;
        let (_, recs) = crawl_links(vec![site.base.clone()], quick()).await;
        let pdf = record(&recs, "/doc.pdf");
        assert_eq!(pdf.canonical, Some(site.url("/docs/doc.html").to_string()));
        let both = record(&recs, "/both");
        assert_eq!(both.canonical, Some(site.url("/from-html").to_string()));
        assert_eq!(record(&recs, "/").canonical, None);
    });
}

#[test]
fn rel_nofollow_links_are_followed_unless_skipped_and_canonical_is_recorded() {
    solo::run(async {
        let site = start(routes(vec![
            (
                "/",
                html(
                    r#"<link rel="canonical" href="/canon?x=1#top"><a rel="nofollow" href="/nf">nf</a>
                       <a rel="external NoFollow" href="/nf2">nf2</a><a href="/both">b</a>
                       <a rel=nofollow href="/both">b again</a><a href="/plain">p</a>"#,
                ),
            ),
            ("/canon?x=1", page("c", &[])),
            ("/nf", page("nf", &[])),
            ("/nf2", page("nf2", &[])),
            ("/both", page("both", &[])),
            ("/plain", page("plain", &[])),
        ]))
        .await;
        let cfg = Config {
            max_pages: Some(1),
            ..quick()
        };
        let (_, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        let root = record(&recs, "/");
        assert_eq!(root.canonical, Some(site.url("/canon?x=1").to_string()));
        assert_eq!(root.links, 5);
        assert!(!record(&recs, "/").nofollow);

        site.hits.borrow_mut().clear();
        let (summary, _) = crawl_links(vec![site.base.clone()], quick()).await;
        for p in ["/nf", "/nf2", "/both", "/plain"] {
            assert_eq!(
                site.count(p),
                1,
                "rel=nofollow links are followed by default: {p}"
            );
        }
        assert_eq!(summary.counts.nofollow, 0);

        site.hits.borrow_mut().clear();
        let cfg = Config {
            skip_nofollow_links: true,
            ..quick()
        };
        let (summary, _) = crawl_links(vec![site.base.clone()], cfg).await;
        assert_eq!((site.count("/nf"), site.count("/nf2")), (0, 0));
        // Linked once without nofollow: followed.
        assert_eq!((site.count("/both"), site.count("/plain")), (1, 1));
        assert_eq!(summary.counts.nofollow, 2);
    });
}

#[test]
fn meta_refresh_is_followed_through_the_frontier() {
    solo::run(async {
        let robots = SiteResponse::typed(200, "text/plain", "User-agent: *\nDisallow: /private\n");
        let site = start(routes(vec![
            ("/robots.txt", robots),
            (
                "/",
                page(
                    "root",
                    &["/go", "/slow", "/self", "/offsite", "/blocked", "/loop1"],
                ),
            ),
            (
                "/go",
                html(r#"<meta http-equiv="Refresh" content="0; url='/moved'">old"#),
            ),
            ("/moved", page("moved", &["/after"])),
            ("/after", page("after", &[])),
            (
                "/slow",
                html(r#"<meta http-equiv="refresh" content="101;url=/slow-target">"#),
            ),
            ("/slow-target", page("s", &[])),
            (
                "/self",
                html(r#"<meta http-equiv="refresh" content="5"><a href="/self-link">x</a>"#),
            ),
            ("/self-link", page("sl", &[])),
            (
                "/offsite",
                html(r#"<meta http-equiv="refresh" content="1;url=http://elsewhere.invalid/">"#),
            ),
            (
                "/blocked",
                html(r#"<meta http-equiv="refresh" content="0;url=/private/x">"#),
            ),
            ("/private/x", page("p", &[])),
            (
                "/loop1",
                html(r#"<meta http-equiv="refresh" content="0;url=/loop2">"#),
            ),
            (
                "/loop2",
                html(r#"<meta http-equiv="refresh" content="0;url=/loop1">"#),
            ),
        ]))
        .await;
        let cfg = Config {
            obey_robots: true,
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        let u = |p: &str| site.url(p).to_string();
        let go = record(&recs, "/go");
        assert_eq!(
            (go.status, go.redirect_to.as_deref()),
            (Some(200), Some(u("/moved").as_str()))
        );
        let moved = record(&recs, "/moved");
        assert_eq!(moved.redirected_from, [u("/go")]);
        assert_eq!(moved.depth, 1);
        assert_eq!(site.count("/after"), 1);
        // Too long a delay: a page like any other, its refresh not followed.
        assert_eq!(site.count("/slow-target"), 0);
        assert_eq!(record(&recs, "/slow").redirect_to, None);
        // A refresh of the page itself is a reload: the page is parsed.
        assert_eq!(site.count("/self-link"), 1);
        // Off-scope and robots-disallowed targets are not fetched.
        assert_eq!(
            record(&recs, "/offsite").redirect_to.as_deref(),
            Some("http://elsewhere.invalid/")
        );
        assert_eq!(site.count("/private/x"), 0);
        // A loop is stopped by the chain's rule: one fetch each.
        assert_eq!((site.count("/loop1"), site.count("/loop2")), (1, 1));
        let l2 = record(&recs, "/loop2");
        assert!(l2.error.as_deref().unwrap_or("").contains("loop"), "{l2:?}");
        assert_eq!(summary.filtered.get("offsite"), Some(&1));
        assert_eq!(summary.filtered.get("robots"), Some(&1));

        // Off: the page is parsed like any other.
        site.hits.borrow_mut().clear();
        let cfg = Config {
            max_refresh_delay: None,
            ..quick()
        };
        let (_, recs) = crawl_links(vec![site.url("/go")], cfg).await;
        assert_eq!(site.count("/moved"), 0);
        assert_eq!(recs.len(), 1);
    });
}

/// A page served with 200 and a meta refresh that is followed is a page
/// like any other too (SEO audit 09: its record had no title, `noindex:
/// false` on a noindex page, no canonical, and its links were never
/// checked): its record keeps what it says, its links are followed (not
/// from a nofollow page), and its refresh target is followed like a
/// redirect's.
#[test]
fn a_followed_meta_refresh_page_keeps_its_own_data_and_links() {
    solo::run(async {
        let site = start(routes(vec![
            ("/", page("root", &["/old", "/nf"])),
            (
                "/old",
                html(concat!(
                    r#"<title>Old page</title><meta name="robots" content="noindex">"#,
                    r#"<link rel="canonical" href="/canon">"#,
                    r#"<meta http-equiv="refresh" content="5; url=/new">"#,
                    r#"<a href="/broken">x</a>"#
                )),
            ),
            ("/new", page("new", &[])),
            ("/canon", page("canon", &[])),
            (
                "/nf",
                html(concat!(
                    r#"<meta name="robots" content="nofollow">"#,
                    r#"<meta http-equiv="refresh" content="0; url=/nf-target">"#,
                    r#"<a href="/nf-link">x</a>"#
                )),
            ),
            ("/nf-target", page("t", &[])),
            ("/nf-link", page("l", &[])),
        ]))
        .await;
        let cfg = Config {
            obey_robots: true,
            ..quick()
        };
        let (_, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        let u = |p: &str| site.url(p).to_string();
        let old = record(&recs, "/old");
        assert_eq!(old.title.as_deref(), Some("Old page"), "{old:?}");
        assert!(old.noindex, "{old:?}");
        assert_eq!(old.canonical.as_deref(), Some(u("/canon").as_str()));
        assert_eq!(old.redirect_to.as_deref(), Some(u("/new").as_str()));
        assert!(old.links >= 2, "{old:?}"); // /broken and the canonical
        assert!(old.error.is_none(), "{old:?}");
        // Its link is checked (a 404 here), its refresh followed.
        assert_eq!(site.count("/broken"), 1);
        assert_eq!(record(&recs, "/broken").status, Some(404));
        let new = record(&recs, "/new");
        assert_eq!(new.redirected_from, [u("/old")]);
        assert_eq!(new.depth, 1);
        // A nofollow page: its refresh is followed, its links are not.
        let nf = record(&recs, "/nf");
        assert!(nf.nofollow, "{nf:?}");
        assert_eq!(site.count("/nf-target"), 1);
        assert_eq!(site.count("/nf-link"), 0);
    });
}

/// A refresh on a page in a legacy charset has its query in that
/// charset, as the page's links have theirs (browsers and Scrapy alike).
#[test]
fn a_meta_refresh_on_a_latin1_page_has_its_query_in_latin1() {
    solo::run(async {
        let latin1 =
            |body: &[u8]| SiteResponse::typed(200, "text/html; charset=ISO-8859-1", body.to_vec());
        let site = start(routes(vec![
            (
                "/",
                latin1(b"<meta http-equiv=refresh content=\"0; url=/t?q=caf\xe9\">"),
            ),
            ("/t?q=caf%E9", latin1(b"<a href=\"/l?q=caf\xe9\">x</a>")),
            ("/l?q=caf%E9", page("l", &[])),
        ]))
        .await;
        let (_, recs) = crawl_links(vec![site.base.clone()], quick()).await;
        // Was /t?q=caf%C3%A9 (UTF-8), a 404 here.
        assert_eq!(
            record(&recs, "/").redirect_to.as_deref(),
            Some(site.url("/t?q=caf%E9").as_str())
        );
        assert_eq!(site.paths(), ["/", "/t?q=caf%E9", "/l?q=caf%E9"]);
    });
}

/// A refresh with anything but `;`, `,` or whitespace after its delay is
/// no refresh (HTML's declarative refresh steps): nothing made up from
/// the rest is fetched.
#[test]
fn a_meta_refresh_with_a_malformed_delay_is_not_followed() {
    solo::run(async {
        let refresh = |content: &str| {
            html(&format!(
                r#"<meta http-equiv="refresh" content="{content}">"#
            ))
        };
        let site = start(routes(vec![
            ("/", page("root", &["/r1", "/r2", "/r3", "/r4"])),
            ("/r1", refresh("5x; url=/next")),
            ("/r2", refresh("2e1; url=/next")),
            ("/r3", refresh("1abc")),
            ("/r4", refresh("1e400; url=/t1")),
        ]))
        .await;
        let (_, recs) = crawl_links(vec![site.base.clone()], quick()).await;
        let mut paths = site.paths();
        paths.sort();
        assert_eq!(paths, ["/", "/r1", "/r2", "/r3", "/r4"]);
        for r in &recs {
            assert_eq!(r.redirect_to, None, "{r:?}");
        }
    });
}
