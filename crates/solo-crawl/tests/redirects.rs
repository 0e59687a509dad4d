//! Redirects go back through the frontier as requests of their own: each
//! rule of the crawl applies to every hop, on sites that count what they
//! serve.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use common::*;
use solo_crawl::demo_site::SiteResponse;
use solo_crawl::{Config, Crawler, Failure, Output, Request, Response, Spider, StopHandle};

#[test]
fn a_redirect_is_recorded_and_its_target_crawled_as_a_new_request() {
    solo::run(async {
        let site = start(routes(vec![
            ("/", page("root", &["/r1"])),
            ("/r1", SiteResponse::redirect(301, "/dir/r2")),
            ("/dir/r2", SiteResponse::redirect(302, "final#frag")), // relative to /dir/
            ("/dir/final", page("final", &["next"])),
            ("/dir/next", page("next", &[])),
        ]))
        .await;
        let (summary, recs) = crawl_links(vec![site.base.clone()], quick()).await;
        let u = |p: &str| site.url(p).to_string();
        let r1 = record(&recs, "/r1");
        assert_eq!(r1.status, Some(301));
        assert_eq!(r1.redirect_to.as_deref(), Some(u("/dir/r2").as_str()));
        assert!(
            r1.redirected_from.is_empty() && r1.error.is_none(),
            "{r1:?}"
        );
        let r2 = record(&recs, "/dir/r2");
        assert_eq!(r2.status, Some(302));
        assert_eq!(r2.redirect_to.as_deref(), Some(u("/dir/final").as_str()));
        assert_eq!(r2.redirected_from, [u("/r1")]);
        let fin = record(&recs, "/dir/final");
        assert_eq!(fin.status, Some(200));
        assert_eq!(fin.title.as_deref(), Some("final"));
        assert_eq!(fin.redirected_from, [u("/r1"), u("/dir/r2")]);
        assert_eq!(fin.redirect_to, None);
        // A redirect keeps the depth and referer of the link.
        assert_eq!((r1.depth, r2.depth, fin.depth), (1, 1, 1));
        assert_eq!(fin.referer.as_deref(), Some(u("/").as_str()));
        // Links on the final page resolve against it, one level deeper.
        let next = record(&recs, "/dir/next");
        assert_eq!(next.referer.as_deref(), Some(u("/dir/final").as_str()));
        assert_eq!(next.depth, 2);
        assert!(next.redirected_from.is_empty());
        assert_eq!(recs.len(), 5);
        assert_eq!(summary.counts.redirects, 2);
        assert_eq!(summary.counts.statuses[&301], 1);
        for p in ["/r1", "/dir/r2", "/dir/final", "/dir/next"] {
            assert_eq!(site.count(p), 1, "{p}");
        }
        // The Referer sent for each hop is the page the link was on.
        let hits = site.hits.borrow();
        let final_hit = hits.iter().find(|h| h.path == "/dir/final").unwrap();
        assert_eq!(final_hit.referer.as_deref(), Some(u("/").as_str()));
    });
}

#[test]
fn csv_records_carry_the_chain() {
    solo::run(async {
        let site = start(routes(vec![
            ("/", SiteResponse::redirect(301, "/b")),
            ("/b", page("b", &[])),
        ]))
        .await;
        let buf = solo_crawl::output::SharedBuf::default();
        let out = solo_crawl::OutputConfig {
            pages: solo_crawl::Target::Buffer(buf.clone()),
            format: solo_crawl::Format::Csv,
            ..Default::default()
        };
        let spider = solo_crawl::LinkSpider::new(vec![site.base.clone()]);
        Crawler::new(spider, quick())
            .output(out)
            .run()
            .await
            .unwrap();
        let text = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        let mut rows = csv::Reader::from_reader(text.as_bytes());
        let head = rows.headers().unwrap().clone();
        let col = |name: &str| head.iter().position(|h| h == name).unwrap();
        let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        let (r, b) = (&rows[0], &rows[1]);
        assert_eq!(&r[col("status")], "301");
        assert_eq!(&r[col("redirect_to")], site.url("/b").as_str());
        assert_eq!(&r[col("redirected_from")], "");
        assert_eq!(&b[col("redirect_to")], "");
        let chain: Vec<String> = serde_json::from_str(&b[col("redirected_from")]).unwrap();
        assert_eq!(chain, [site.base.to_string()]);
    });
}

#[test]
fn a_target_robots_txt_disallows_is_not_fetched() {
    solo::run(async {
        let site = start(routes(vec![
            // A robots.txt that moved on its own host is followed.
            (
                "/robots.txt",
                SiteResponse::redirect(301, "/robots-real.txt"),
            ),
            (
                "/robots-real.txt",
                SiteResponse::typed(200, "text/plain", "User-agent: *\nDisallow: /private/\n"),
            ),
            ("/", page("root", &["/go"])),
            ("/go", SiteResponse::redirect(302, "/private/x")),
            ("/private/x", page("secret", &[])),
        ]))
        .await;
        let cfg = Config {
            obey_robots: true,
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        assert_eq!(site.count("/private/x"), 0);
        assert_eq!(record_paths(&recs), ["/", "/go"]);
        assert_eq!(
            record(&recs, "/go").redirect_to.as_deref(),
            Some(site.url("/private/x").as_str())
        );
        assert_eq!(summary.filtered["robots"], 1);
        assert_eq!(&site.paths()[..2], ["/robots.txt", "/robots-real.txt"]);
    });
}

#[test]
fn a_redirect_to_a_page_already_crawled_does_not_fetch_it_again() {
    solo::run(async {
        let site = start(routes(vec![
            ("/", page("root", &["/a", "/r", "/r2"])),
            ("/a", page("a", &[])),
            ("/r", SiteResponse::redirect(301, "/a")),
            // The same page, spelt differently.
            ("/r2", SiteResponse::redirect(302, "/a?#x")),
        ]))
        .await;
        let (summary, recs) = crawl_links(vec![site.base.clone()], quick()).await;
        assert_eq!(site.count("/a"), 1);
        assert_eq!(record_paths(&recs), ["/", "/a", "/r", "/r2"]);
        assert_eq!(summary.filtered["seen"], 2);
        assert_eq!(summary.counts.redirects, 0, "none followed");
    });
}

/// A robots.txt that moved to another host (`example.com` to
/// `www.example.com`) is followed there and obeyed, as RFC 9309
/// §2.3.1.2, Google and Python's robotparser do. It was taken for "no
/// robots.txt" and the host crawled as if it allowed all.
#[test]
fn a_robots_txt_moved_to_another_host_is_followed_and_obeyed() {
    solo::run(async {
        let other = start_on(
            "127.0.0.2",
            routes(vec![(
                "/robots-canonical.txt",
                SiteResponse::typed(200, "text/plain", "User-agent: *\nDisallow: /private/\n"),
            )]),
        )
        .await;
        let moved = other.url("/robots-canonical.txt").to_string();
        let site = start(move |path: String| {
            std::future::ready(match path.as_str() {
                "/robots.txt" => SiteResponse::redirect(301, &moved),
                "/" => page("root", &["/private/x", "/public"]),
                _ => page("p", &[]),
            })
        })
        .await;
        let cfg = Config {
            obey_robots: true,
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        assert_eq!(site.count("/private/x"), 0, "{:?}", site.paths());
        assert_eq!(record_paths(&recs), ["/", "/public"]);
        assert_eq!(summary.filtered["robots"], 1);
        assert_eq!(other.paths(), ["/robots-canonical.txt"]);
    });
}

#[test]
fn an_off_scope_target_is_never_contacted() {
    solo::run(async {
        // Another host (127.0.0.2 is loopback too): out of scope.
        let other = start_on("127.0.0.2", routes(vec![("/x", page("x", &[]))])).await;
        let away = other.url("/x").to_string();
        let away2 = away.clone();
        let site = start(move |path: String| {
            let away = away2.clone();
            async move {
                match path.as_str() {
                    "/robots.txt" => SiteResponse::redirect(301, &away),
                    "/" => page("root", &["/away", "/dns", "/deny"]),
                    "/deny" => SiteResponse::redirect(302, "/denied/x"),
                    "/away" => SiteResponse::redirect(302, &away),
                    // A name that must never be looked up.
                    "/dns" => SiteResponse::redirect(302, "http://must-not-resolve.invalid/x"),
                    _ => SiteResponse::status(404),
                }
            }
        })
        .await;
        let cfg = Config {
            obey_robots: true,
            deny: vec![regex::Regex::new("/denied/").unwrap()],
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        // Only robots.txt's redirect leaves the scope (RFC 9309
        // §2.3.1.2 asks for it to be followed across hosts).
        assert_eq!(other.paths(), ["/x"], "robots.txt's redirect alone");
        assert_eq!(site.count("/denied/x"), 0, "--deny applies too");
        assert_eq!(summary.filtered["filtered"], 1);
        assert_eq!(record_paths(&recs), ["/", "/away", "/deny", "/dns"]);
        assert!(recs.iter().all(|r| r.error.is_none()), "{recs:#?}");
        assert!(summary.counts.errors.is_empty(), "no DNS or connect error");
        assert_eq!(summary.filtered["offsite"], 2);
        assert_eq!(
            record(&recs, "/away").redirect_to.as_deref(),
            Some(away.as_str())
        );

        // A start URL that only leads off-site says so.
        let (summary, _) = crawl_links(vec![site.url("/away")], quick()).await;
        assert_eq!(summary.seeds_ok, 0);
        assert_eq!(summary.seeds_failed.len(), 1);
        let why = &summary.seeds_failed[0];
        assert!(
            why.contains(&away) && why.contains("offsite") && why.contains("allow its domain"),
            "{why}"
        );
        assert_eq!(other.paths(), ["/x"]);
    });
}

#[test]
fn an_allowed_host_reached_by_redirect_gets_its_robots_txt_first() {
    solo::run(async {
        let other = start_on(
            "127.0.0.2",
            routes(vec![
                (
                    "/robots.txt",
                    SiteResponse::typed(200, "text/plain", "User-agent: *\nDisallow: /secret\n"),
                ),
                ("/ok", page("ok", &[])),
                ("/secret", page("secret", &[])),
            ]),
        )
        .await;
        let (ok, secret) = (
            other.url("/ok").to_string(),
            other.url("/secret").to_string(),
        );
        let site = start(routes(vec![
            ("/", page("root", &["/to-ok", "/to-secret"])),
            ("/to-ok", SiteResponse::redirect(307, &ok)),
            ("/to-secret", SiteResponse::redirect(308, &secret)),
        ]))
        .await;
        let cfg = Config {
            obey_robots: true,
            allow_domains: vec!["127.0.0.2".into()],
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        assert_eq!(other.paths(), ["/robots.txt", "/ok"]);
        let fin = record(&recs, "/ok");
        assert_eq!(fin.status, Some(200));
        assert_eq!(fin.redirected_from, [site.url("/to-ok").to_string()]);
        assert_eq!(summary.filtered["robots"], 1);
        assert_eq!(summary.counts.robots_fetched, 2);
    });
}

#[test]
fn the_per_host_limit_holds_across_redirect_hops() {
    solo::run(async {
        let slow = |path: String| async move {
            solo::sleep(Duration::from_millis(40)).await;
            page(&path, &[])
        };
        let other = start_on("127.0.0.2", slow).await;
        let base = other.base.to_string();
        let site = start(move |path: String| {
            let to = format!("{base}t{}", path.trim_start_matches("/r"));
            async move { SiteResponse::redirect(302, &to) }
        })
        .await;
        // Six pages of the other host, and six redirects to it.
        let mut seeds: Vec<_> = (0..6).map(|i| other.url(&format!("/s{i}"))).collect();
        seeds.extend((0..6).map(|i| site.url(&format!("/r{i}"))));
        let cfg = Config {
            per_host: 1,
            ..quick()
        };
        let (summary, recs) = crawl_links(seeds, cfg).await;
        assert_eq!(recs.len(), 18);
        assert_eq!(summary.counts.redirects, 6);
        assert_eq!(other.hits.borrow().len(), 12);
        assert_eq!(other.max_concurrent.get(), 1, "one request at a time");
    });
}

#[test]
fn the_host_delay_holds_across_redirect_hops() {
    solo::run(async {
        let site = start(routes(vec![
            ("/", SiteResponse::redirect(302, "/b")),
            ("/b", page("b", &[])),
        ]))
        .await;
        let cfg = Config {
            delay: Duration::from_millis(300),
            jitter: false,
            ..quick()
        };
        let (_, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        assert_eq!(recs.len(), 2);
        let gap = site.times("/b")[0] - site.times("/")[0];
        assert!(gap >= Duration::from_millis(290), "{gap:?}");
    });
}

#[test]
fn depth_is_kept_and_chains_stop_at_the_limit_or_a_loop() {
    solo::run(async {
        let mut table = vec![
            ("/r", SiteResponse::redirect(302, "/final")),
            ("/final", page("final", &["/next"])),
            ("/next", page("next", &[])),
            ("/loop-a", SiteResponse::redirect(307, "/loop-b")),
            ("/loop-b", SiteResponse::redirect(307, "/loop-a")),
            ("/self", SiteResponse::redirect(301, "/self#again")),
        ];
        let chain = ["/c0", "/c1", "/c2", "/c3", "/c4", "/c5"];
        for w in chain.windows(2) {
            table.push((w[0], SiteResponse::redirect(301, w[1])));
        }
        let site = start(routes(table)).await;
        let seeds = ["/r", "/loop-a", "/self", "/c0"]
            .map(|p| site.url(p))
            .to_vec();
        let cfg = Config {
            depth_limit: Some(0),
            max_redirects: 3,
            ..quick()
        };
        let (summary, recs) = crawl_links(seeds, cfg).await;
        // A redirect's target has the depth of the link: /final is
        // fetched at depth 0, its links are too deep.
        assert_eq!(record(&recs, "/final").depth, 0);
        assert_eq!(site.count("/next"), 0);
        // A → B → A: each fetched once, the loop is B's error.
        assert_eq!((site.count("/loop-a"), site.count("/loop-b")), (1, 1));
        let b = record(&recs, "/loop-b");
        assert!(
            b.error.as_deref().unwrap().contains("redirect loop"),
            "{b:?}"
        );
        assert_eq!(b.redirect_to.as_deref(), Some(site.url("/loop-a").as_str()));
        assert_eq!(site.count("/self"), 1);
        // Three hops followed, the fourth refused.
        for (p, n) in chain.iter().zip([1, 1, 1, 1, 0, 0]) {
            assert_eq!(site.count(p), n, "{p}");
        }
        let c3 = record(&recs, "/c3");
        assert_eq!(c3.redirected_from.len(), 3);
        assert!(
            c3.error
                .as_deref()
                .unwrap()
                .contains("more than 3 redirects"),
            "{c3:?}"
        );
        assert_eq!(summary.counts.errors["redirect"], 3);
        assert_eq!(summary.counts.redirects, 1 + 1 + 3);
    });
}

#[test]
fn redirect_hops_count_against_the_page_budget() {
    solo::run(async {
        let site = start(routes(vec![
            ("/a", SiteResponse::redirect(302, "/b")),
            ("/b", SiteResponse::redirect(302, "/c")),
            ("/c", page("c", &[])),
        ]))
        .await;
        let cfg = Config {
            max_pages: Some(2),
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![site.url("/a")], cfg).await;
        assert_eq!(site.paths(), ["/a", "/b"]);
        assert_eq!(recs.len(), 2);
        assert_eq!(summary.counts.pages, 2);
    });
}

#[test]
fn bad_locations_are_error_records_not_panics() {
    solo::run(async {
        let links = ["/none", "/garbage", "/js", "/ftp", "/empty", "/frag", "/ok"];
        let site = start(routes(vec![
            ("/", page("root", &links)),
            ("/none", SiteResponse::status(302)),
            ("/garbage", SiteResponse::redirect(301, "http://[::1")),
            ("/js", SiteResponse::redirect(302, "javascript:alert(1)")),
            (
                "/ftp",
                SiteResponse::redirect(308, "ftp://example.invalid/"),
            ),
            ("/empty", SiteResponse::redirect(302, "")),
            ("/frag", SiteResponse::redirect(302, "/ok#part")),
            ("/ok", page("ok", &[])),
        ]))
        .await;
        let (summary, recs) = crawl_links(vec![site.base.clone()], quick()).await;
        let err = |p: &str| record(&recs, p).error.clone().unwrap_or_default();
        assert!(
            err("/none").contains("without a Location"),
            "{}",
            err("/none")
        );
        assert!(
            err("/garbage").contains("invalid Location"),
            "{}",
            err("/garbage")
        );
        assert!(err("/js").contains("only http and https"), "{}", err("/js"));
        assert!(
            err("/ftp").contains("only http and https"),
            "{}",
            err("/ftp")
        );
        assert!(err("/empty").contains("redirect loop"), "{}", err("/empty"));
        for p in ["/none", "/garbage", "/js", "/ftp", "/empty"] {
            assert!(err(p).starts_with("redirect: "), "{}", err(p));
        }
        assert_eq!(summary.counts.errors["redirect"], 5);
        // A fragment is not part of the page: /ok once, seen from /frag.
        assert_eq!(site.count("/ok"), 1);
        assert_eq!(
            record(&recs, "/frag").redirect_to.as_deref(),
            Some(site.url("/ok").as_str())
        );
        assert_eq!(recs.len(), 8);
    });
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, PartialEq)]
enum Cb {
    #[default]
    Home,
    Product,
}

/// A spider whose start requests carry callbacks and meta; it reports
/// what its callbacks saw.
struct Products {
    start: Vec<Request<Cb>>,
    seen: Rc<RefCell<Vec<String>>>,
}

impl Spider for Products {
    type Callback = Cb;

    fn start_requests(&self) -> Vec<Request<Cb>> {
        self.start.clone()
    }

    async fn parse(&self, cb: Cb, response: &Response, out: &mut Output<Cb>) {
        let from: Vec<&str> = response
            .redirected_from()
            .iter()
            .map(|u| u.path())
            .collect();
        self.seen.borrow_mut().push(format!(
            "{cb:?} {} meta={} from={from:?} first={}",
            response.url().path(),
            response.meta(),
            response.request_url().path(),
        ));
        out.item(serde_json::json!({ "sku": response.meta()["sku"] }));
    }

    async fn on_error(&self, request: &Request<Cb>, failure: Failure<'_>, _: &mut Output<Cb>) {
        let what = match failure {
            Failure::Fetch(e) => format!("{} {:?}", e.kind.as_str(), e.status),
            Failure::Status(r) => format!("status {}", r.status()),
            other => format!("{other:?}"),
        };
        self.seen
            .borrow_mut()
            .push(format!("error {} {what}", request.url.path()));
    }
}

#[test]
fn callback_and_meta_survive_a_redirect() {
    solo::run(async {
        let site = start(routes(vec![
            ("/p/old", SiteResponse::redirect(301, "/p/mid")),
            ("/p/mid", SiteResponse::redirect(303, "/p/new")),
            ("/p/new", SiteResponse::html("<h1>Teapot</h1>")),
            ("/broken", SiteResponse::status(307)),
        ]))
        .await;
        let seen = Rc::new(RefCell::new(Vec::new()));
        let spider = Products {
            start: vec![
                Request::new(site.url("/p/old"), Cb::Product)
                    .with_meta(serde_json::json!({"sku": 42})),
                Request::new(site.url("/broken"), Cb::Product),
            ],
            seen: seen.clone(),
        };
        let (summary, recs) = crawl(spider, quick()).await;
        let mut seen = seen.borrow().clone();
        seen.sort();
        assert_eq!(
            seen,
            [
                r#"Product /p/new meta={"sku":42} from=["/p/old", "/p/mid"] first=/p/old"#,
                "error /broken redirect Some(307)",
            ]
        );
        assert_eq!(summary.counts.items, 1);
        assert_eq!(recs.len(), 4);
        assert_eq!(summary.seeds_ok, 1);
        assert_eq!(summary.seeds_failed.len(), 1);
    });
}

#[test]
fn a_pending_redirect_is_kept_in_the_state_and_resumed() {
    let dir =
        std::env::temp_dir().join(format!("solo-crawl-redirect-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = || Config {
        state_dir: Some(dir.clone()),
        ..quick()
    };
    solo::run(async {
        let stop2 = Rc::new(RefCell::new(None::<StopHandle>));
        let s2 = stop2.clone();
        let site = start(move |path: String| {
            let s2 = s2.clone();
            async move {
                match path.as_str() {
                    "/" => page("root", &["/r"]),
                    "/r" => {
                        // The crawl stops while the redirect is answered.
                        if let Some(s) = s2.borrow().as_ref() {
                            s.stop();
                        }
                        SiteResponse::redirect(302, "/target")
                    }
                    "/target" => page("target", &[]),
                    _ => SiteResponse::status(404),
                }
            }
        })
        .await;
        let buf = solo_crawl::output::SharedBuf::default();
        let out = || solo_crawl::OutputConfig {
            pages: solo_crawl::Target::Buffer(buf.clone()),
            ..Default::default()
        };
        let crawler =
            Crawler::new(solo_crawl::LinkSpider::new(vec![site.base.clone()]), cfg()).output(out());
        *stop2.borrow_mut() = Some(crawler.stop_handle());
        let first = crawler.run().await.unwrap();
        assert!(first.interrupted);
        assert_eq!(site.count("/target"), 0, "stopped before the target");
        assert_eq!(record_paths(&records(&buf)), ["/", "/r"]);

        *stop2.borrow_mut() = None;
        let crawler =
            Crawler::new(solo_crawl::LinkSpider::new(vec![site.base.clone()]), cfg()).output(out());
        let second = crawler.run().await.unwrap();
        assert!(second.resumed && !second.interrupted);
        assert_eq!((site.count("/r"), site.count("/target")), (1, 1));
        let recs = records(&buf);
        assert_eq!(recs.len(), 3);
        let t = record(&recs, "/target");
        assert_eq!(t.redirected_from, [site.url("/r").to_string()]);
        assert_eq!(t.depth, 1);
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A `Location` with a raw byte that is not UTF-8 names that byte: it is
/// sent percent-encoded (`/caf\xE9` -> `/caf%E9`, as curl does), not as
/// U+FFFD (`/caf%EF%BF%BD`, a resource the server never meant).
#[test]
fn a_location_byte_that_is_not_utf8_is_sent_percent_encoded() {
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = asked.clone();
    let base = common::blocking::serve(move |req| {
        log.lock().unwrap().push(req.path.clone());
        let mut answer = match req.path.as_str() {
            "/" => b"HTTP/1.1 301 Moved\r\nLocation: /caf\xe9?q=\xff\xfe\r\n".to_vec(),
            "/utf8" => "HTTP/1.1 302 Found\r\nLocation: /café\r\n"
                .as_bytes()
                .to_vec(),
            _ => b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n".to_vec(),
        };
        answer.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        answer
    });
    let base = url::Url::parse(&base).unwrap();
    solo::run(async move {
        let seeds = vec![base.join("/").unwrap(), base.join("/utf8").unwrap()];
        let (_, recs) = crawl_links(seeds, quick()).await;
        let to = |p: &str| record(&recs, p).redirect_to.clone();
        assert_eq!(
            to("/"),
            Some(base.join("/caf%E9?q=%FF%FE").unwrap().to_string())
        );
        // Valid UTF-8 is a character, encoded as UTF-8 as before.
        assert_eq!(
            to("/utf8"),
            Some(base.join("/caf%C3%A9").unwrap().to_string())
        );
    });
    let mut asked = asked.lock().unwrap().clone();
    asked.sort();
    assert_eq!(asked, ["/", "/caf%C3%A9", "/caf%E9?q=%FF%FE", "/utf8"]);
}

/// The start URL's user and password go with a redirect to the same
/// origin, as with its links (and as curl -L and requests do): a
/// redirect from /docs to /docs/ lost them, and the server answered 401.
/// To another origin they never go.
#[test]
fn url_credentials_follow_a_redirect_to_the_same_origin_only() {
    solo::run(async {
        let other = start(routes(vec![("/x", page("x", &[]))])).await;
        let away = other.url("/x").to_string();
        let site = start(routes(vec![
            ("/docs", SiteResponse::redirect(301, "/docs/")),
            ("/docs/", page("docs", &["/away"])),
            ("/away", SiteResponse::redirect(302, &away)),
        ]))
        .await;
        let mut start_url = site.url("/docs");
        start_url.set_username("alice").unwrap();
        start_url.set_password(Some("s3cret")).unwrap();
        let cfg = Config {
            stay_on_start_hosts: false,
            ..quick()
        };
        let (_, recs) = crawl_links(vec![start_url], cfg).await;
        let basic = "Basic YWxpY2U6czNjcmV0"; // alice:s3cret
        let auth = |s: &Site, path: &str| {
            s.hits
                .borrow()
                .iter()
                .find(|h| h.path == path)
                .map(|h| h.authorization.clone())
        };
        assert_eq!(auth(&site, "/docs"), Some(Some(basic.to_owned())));
        assert_eq!(
            auth(&site, "/docs/"),
            Some(Some(basic.to_owned())),
            "same origin: kept"
        );
        assert_eq!(auth(&site, "/away"), Some(Some(basic.to_owned())));
        assert_eq!(auth(&other, "/x"), Some(None), "another origin: never");
        // And never written out.
        for r in &recs {
            let line = serde_json::to_string(r).unwrap();
            assert!(!line.contains("s3cret"), "{line}");
        }
    });
}

/// A cookie wall: `/gate` answers `302 Location: /gate` with a cookie
/// until the cookie comes back, then the page. Browsers, curl -L and
/// requests follow it; it was a "redirect loop" (and the start URL
/// failed). A redirect back that sets no new cookie is still a loop.
#[test]
fn a_redirect_back_to_the_same_url_with_a_new_cookie_is_followed() {
    use std::io::{BufRead, BufReader, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut r = BufReader::new(conn.try_clone().unwrap());
            let mut first = String::new();
            let _ = r.read_line(&mut first);
            let mut cookie = false;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) <= 2 {
                    break;
                }
                cookie |=
                    h.to_ascii_lowercase().starts_with("cookie:") && h.contains("consent=yes");
            }
            let path = first.split(' ').nth(1).unwrap_or("/");
            let resp = match (path, cookie) {
                ("/gate", false) => "HTTP/1.1 302 Found\r\nLocation: /gate\r\nSet-Cookie: consent=yes; Path=/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
                ("/gate", true) => "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 30\r\nConnection: close\r\n\r\n<title>behind the wall</title>".to_owned(),
                _ => "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
            };
            let _ = conn.write_all(resp.as_bytes());
        }
    });
    solo::run(async {
        let cfg = Config {
            cookies: true,
            obey_robots: false,
            ..quick()
        };
        let gate = url::Url::parse(&format!("{base}/gate")).unwrap();
        let looping = url::Url::parse(&format!("{base}/loop")).unwrap();
        let (_, recs) = crawl_links(vec![gate, looping], cfg).await;
        let page = recs
            .iter()
            .find(|r| r.status == Some(200))
            .unwrap_or_else(|| panic!("{recs:#?}"));
        assert_eq!(page.title.as_deref(), Some("behind the wall"));
        let lp = recs.iter().find(|r| r.url.ends_with("/loop")).unwrap();
        assert!(
            lp.error
                .as_deref()
                .is_some_and(|e| e.contains("redirect loop") && !e.contains("--cookies")),
            "{lp:?}"
        );
        // Without cookies the wall is a loop, and the error says what
        // would pass it (it named only the loop).
        let cfg = Config {
            obey_robots: false,
            ..quick()
        };
        let gate = url::Url::parse(&format!("{base}/gate")).unwrap();
        let (_, recs) = crawl_links(vec![gate], cfg).await;
        let wall = recs.iter().find(|r| r.url.ends_with("/gate")).unwrap();
        let e = wall.error.as_deref().unwrap_or_default();
        assert!(
            e.contains("redirect loop") && e.contains("crawl with --cookies"),
            "{wall:?}"
        );
    });
}

/// A loop whose URLs the site links each (the menu links the old URL, a
/// newer page the new one) is a loop, whichever of them is fetched first
/// (SEO audit 01: three records and no error). Every URL that redirects
/// has its record with where it points, so each chain can be rebuilt
/// from `redirect_to`, also when a later hop was reached first.
#[test]
fn a_loop_is_reported_when_the_site_links_each_of_its_urls() {
    for links in [
        [
            "/loop1", "/loop2", "/chain2", "/chain1", "/tri-a", "/tri-c", "/tri-b",
        ],
        [
            "/loop2", "/loop1", "/chain1", "/chain2", "/tri-b", "/tri-a", "/tri-c",
        ],
    ] {
        solo::run(async {
            let site = start(routes(vec![
                ("/", page("root", &links)),
                ("/loop1", SiteResponse::redirect(301, "/loop2")),
                ("/loop2", SiteResponse::redirect(301, "/loop1")),
                ("/tri-a", SiteResponse::redirect(302, "/tri-b")),
                ("/tri-b", SiteResponse::redirect(307, "/tri-c")),
                ("/tri-c", SiteResponse::redirect(308, "/tri-a")),
                ("/chain1", SiteResponse::redirect(301, "/chain2")),
                ("/chain2", SiteResponse::redirect(302, "/chain3")),
                ("/chain3", SiteResponse::redirect(308, "/end")),
                ("/end", page("end", &[])),
            ]))
            .await;
            let (summary, recs) = crawl_links(vec![site.base.clone()], quick()).await;
            let u = |p: &str| site.url(p).to_string();
            let hops = [
                ("/loop1", "/loop2"),
                ("/loop2", "/loop1"),
                ("/tri-a", "/tri-b"),
                ("/tri-b", "/tri-c"),
                ("/tri-c", "/tri-a"),
                ("/chain1", "/chain2"),
                ("/chain2", "/chain3"),
                ("/chain3", "/end"),
            ];
            for (from, to) in hops {
                assert_eq!(site.count(from), 1, "{from}");
                let r = record(&recs, from);
                assert!(r.status.is_some_and(|s| (301..=308).contains(&s)), "{r:?}");
                assert_eq!(r.redirect_to.as_deref(), Some(u(to).as_str()), "{r:?}");
            }
            let loop_errors = |urls: &[&str]| {
                urls.iter()
                    .filter(|p| {
                        let e = record(&recs, p).error.clone().unwrap_or_default();
                        e.contains("redirect loop")
                    })
                    .count()
            };
            // The hop that closes each loop says so, as when one URL of
            // the loop is linked.
            assert_eq!(loop_errors(&["/loop1", "/loop2"]), 1, "{recs:#?}");
            assert_eq!(loop_errors(&["/tri-a", "/tri-b", "/tri-c"]), 1, "{recs:#?}");
            assert_eq!(loop_errors(&["/chain1", "/chain2", "/chain3"]), 0);
            assert_eq!(summary.counts.errors.get("redirect"), Some(&2));
            assert_eq!(site.count("/end"), 1);
        });
    }
}

/// The redirect that hits `max_redirects` says where it points: its
/// `Location` came (SEO audit 06: `redirect_to` was null), and the error
/// says the limit was reached.
#[test]
fn the_redirect_over_the_limit_records_its_target() {
    solo::run(async {
        let site = start(routes(vec![
            ("/c1", SiteResponse::redirect(301, "/c2")),
            ("/c2", SiteResponse::redirect(302, "/c3")),
            ("/c3", SiteResponse::redirect(308, "end")),
            ("/end", page("end", &[])),
            ("/none", SiteResponse::redirect(301, "/end")),
        ]))
        .await;
        let cfg = Config {
            max_redirects: 2,
            ..quick()
        };
        let (_, recs) = crawl_links(vec![site.url("/c1")], cfg).await;
        let c3 = record(&recs, "/c3");
        assert_eq!(c3.redirect_to.as_deref(), Some(site.url("/end").as_str()));
        let e = c3.error.as_deref().unwrap_or_default();
        assert!(e.contains("more than 2 redirects"), "{c3:?}");
        assert_eq!(site.count("/end"), 0);
        // Redirects off: the first hop is over the limit.
        let cfg = Config {
            max_redirects: 0,
            ..quick()
        };
        let (_, recs) = crawl_links(vec![site.url("/none")], cfg).await;
        let none = record(&recs, "/none");
        assert_eq!(none.redirect_to.as_deref(), Some(site.url("/end").as_str()));
        assert!(none
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("limit is 0"));
    });
}

/// A redirect whose body never finishes (a `Content-Length` the server
/// does not send) is still a redirect: its body is cut off after a
/// moment and the crawl goes on to its target. It was read until the
/// request's timeout and recorded as a timeout, without `redirect_to`,
/// and its target was never crawled.
#[test]
fn a_redirect_whose_body_never_ends_is_still_followed() {
    let base = common::blocking::serve(|req| match req.path.as_str() {
        "/" => b"HTTP/1.1 301 Moved\r\nLocation: /to\r\nContent-Length: 100\r\n\r\nmoved".to_vec(),
        _ => b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok".to_vec(),
    });
    let base = url::Url::parse(&base).unwrap();
    solo::run(async move {
        let cfg = Config {
            max_retries: 0,
            ..quick()
        };
        let (_, recs) = crawl_links(vec![base.join("/").unwrap()], cfg).await;
        let first = record(&recs, "/");
        assert_eq!(first.error, None, "{first:?}");
        assert_eq!(first.status, Some(301));
        assert_eq!(
            first.redirect_to,
            Some(base.join("/to").unwrap().to_string())
        );
        assert_eq!(record(&recs, "/to").status, Some(200));
    });
}
