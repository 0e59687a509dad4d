//! The crawler against sites served on 127.0.0.1 by the tests.

mod common;

use std::cell::Cell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use common::*;
use solo_crawl::demo_site::{demo_reachable, DemoSite, Framing, SiteResponse};
use solo_crawl::{Config, Output, Request, Response, Spider};

/// A small graph: depth limit, dedup of equivalent URLs, relative links,
/// `<base href>`.
fn graph(path: String, port: u16) -> SiteResponse {
    match path.as_str() {
        "/" => page(
            "root",
            &[
                "a",
                "./b?y=2&x=1",
                "/c#frag",
                &format!("http://127.0.0.1:{port}/b?x=1&y=2#other"), // same as ./b?y=2&x=1
                &format!("HTTP://127.0.0.1:{port}/a"),               // same as a
                "/c",
                "mailto:x@example.invalid",
                "javascript:void(0)",
            ],
        ),
        // <base> moves relative links to /sub/.
        "/a" => SiteResponse::html(
            "<html><head><base href=\"/sub/\"><title>a</title></head>\
             <body><a href=\"d\">d</a><link rel=\"next\" href=\"../c\"></body></html>",
        ),
        "/b?y=2&x=1" | "/b?x=1&y=2" => page("b", &["e", "/"]),
        "/c" => page("c", &[]),
        "/sub/d" => page("d", &["/deep1"]),
        "/e" => page("e", &["/deep2"]),
        "/deep1" => page("deep1", &["/deeper"]),
        "/deep2" | "/deeper" => page("deep2", &[]),
        _ => SiteResponse::status(404),
    }
}

/// Serves [`graph`].
async fn graph_site() -> Site {
    let port = Rc::new(Cell::new(0));
    let p = port.clone();
    let site = start(move |path| {
        let port = p.get();
        async move { graph(path, port) }
    })
    .await;
    port.set(site.base.port().unwrap());
    site
}

#[test]
fn exact_pages_for_a_known_graph_with_depth_limit() {
    solo::run(async {
        let site = graph_site().await;
        let cfg = Config {
            depth_limit: Some(2),
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        assert_eq!(
            record_paths(&recs),
            ["/", "/a", "/b?y=2&x=1", "/c", "/e", "/sub/d"],
            "{recs:#?}"
        );
        // Each page requested once: equivalent URLs were deduplicated.
        let mut hits = site.paths();
        hits.sort();
        assert_eq!(hits, ["/", "/a", "/b?y=2&x=1", "/c", "/e", "/sub/d"]);
        assert_eq!(summary.counts.pages, 6);
        assert!(summary.filtered["too_deep"] >= 2, "{summary:?}");
        // Depths and referers.
        assert_eq!(record(&recs, "/").depth, 0);
        assert_eq!(record(&recs, "/").referer, None);
        assert_eq!(record(&recs, "/a").depth, 1);
        assert_eq!(record(&recs, "/sub/d").depth, 2);
        assert_eq!(
            record(&recs, "/sub/d").referer.as_deref(),
            Some(site.url("/a").as_str())
        );
        assert_eq!(
            record(&recs, "/").links,
            4,
            "a, b, c (dedup within the page), a"
        );
        assert_eq!(record(&recs, "/a").title.as_deref(), Some("a"));
    });
}

#[test]
fn without_depth_limit_everything_reachable_once() {
    solo::run(async {
        let site = graph_site().await;
        let (_, recs) = crawl_links(vec![site.base.clone()], quick()).await;
        assert_eq!(
            record_paths(&recs),
            [
                "/",
                "/a",
                "/b?y=2&x=1",
                "/c",
                "/deep1",
                "/deep2",
                "/deeper",
                "/e",
                "/sub/d"
            ]
        );
        assert_eq!(site.paths().len(), 9);
    });
}

#[test]
fn the_demo_site_is_crawled_exactly() {
    let site = DemoSite::start(700).unwrap();
    let url = site.url();
    let (summary, recs) = solo::run(crawl_links(
        vec![url.clone()],
        Config {
            backoff_base: Duration::from_millis(10),
            ..Config::default()
        },
    ));
    let got: BTreeSet<String> = record_paths(&recs).into_iter().collect();
    assert_eq!(got, demo_reachable(700));
    assert_eq!(summary.counts.pages as usize, got.len());
    assert!(got.iter().all(|p| !p.starts_with("/private/")));
    // 404s and 500s are recorded with their status; JSON is not parsed.
    assert_eq!(record(&recs, "/missing/3").status, Some(404));
    assert_eq!(record(&recs, "/error/5").status, Some(500));
    let data = record(&recs, "/data/0.json");
    assert_eq!(data.links, 0);
    assert_eq!(data.content_type.as_deref(), Some("application/json"));
    assert!(data.title.is_none());
    assert_eq!(record(&recs, "/page/4").title.as_deref(), Some("Page 4"));
    // Every page once, plus robots.txt, plus the 500s' retries (2 each).
    let errors = got.iter().filter(|p| p.starts_with("/error/")).count() as u64;
    assert_eq!(site.requests(), got.len() as u64 + 1 + 2 * errors);
    assert_eq!(summary.counts.retries, 2 * errors);
}

fn robots_site(robots: &'static str) -> impl Fn(String) -> std::future::Ready<SiteResponse> {
    move |path: String| {
        std::future::ready(match path.as_str() {
            "/robots.txt" if robots == "404" => SiteResponse::status(404),
            "/robots.txt" => SiteResponse::typed(200, "text/plain", robots),
            "/" => page("root", &["/p1", "/p2", "/p3", "/secret/x", "/secret"]),
            "/p1" | "/p2" | "/p3" | "/secret/x" | "/secret" => page("p", &[]),
            _ => SiteResponse::status(404),
        })
    }
}

#[test]
fn robots_disallow_and_crawl_delay_are_obeyed() {
    solo::run(async {
        let site = start(robots_site(
            "User-agent: other\nDisallow: /\n\nUser-agent: *\nDisallow: /secret/\nCrawl-delay: 0.2\n",
        ))
        .await;
        let cfg = Config {
            obey_robots: true,
            per_host: 4,
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        let paths = site.paths();
        assert_eq!(paths[0], "/robots.txt", "robots.txt comes first: {paths:?}");
        assert_eq!(site.count("/robots.txt"), 1);
        assert_eq!(site.count("/secret/x"), 0);
        assert_eq!(record_paths(&recs), ["/", "/p1", "/p2", "/p3", "/secret"]);
        assert_eq!(summary.filtered["robots"], 1);
        // Crawl-delay: page requests start at least 0.2 s apart (lower bound).
        let hits = site.hits.borrow();
        let starts: Vec<_> = hits.iter().skip(1).map(|h| h.at).collect();
        for w in starts.windows(2) {
            assert!(
                w[1] - w[0] >= Duration::from_millis(190),
                "{:?}",
                w[1] - w[0]
            );
        }
        // The agent matched its own group by the User-Agent's first word.
        assert!(hits[1]
            .user_agent
            .as_deref()
            .unwrap()
            .starts_with("solo-crawl/"));
    });
}

/// The robots.txt agent of a browser-like User-Agent is the bot it
/// names after `compatible;` (it was `Mozilla`, so the site's group for
/// the bot was never applied), and `Config::robots_agent`
/// (`--robots-agent`) names another (Scrapy's `ROBOTSTXT_USER_AGENT`).
#[test]
fn the_robots_agent_is_the_bot_the_user_agent_names_or_the_one_given() {
    let robots = "User-agent: MyBot\nDisallow: /secret\n\nUser-agent: *\nDisallow: /p1\n";
    let ua = "Mozilla/5.0 (compatible; MyBot/1.0; +https://example.com/bot)";
    for (agent, skipped, fetched) in [
        (None, "/secret/x", "/p1"),
        (Some("OtherBot"), "/p1", "/secret/x"),
    ] {
        solo::run(async move {
            let site = start(robots_site(robots)).await;
            let cfg = Config {
                obey_robots: true,
                user_agent: ua.into(),
                robots_agent: agent.map(str::to_owned),
                ..quick()
            };
            crawl_links(vec![site.base.clone()], cfg).await;
            assert_eq!(site.count(skipped), 0, "{agent:?}: {:?}", site.paths());
            assert_eq!(site.count(fetched), 1, "{agent:?}: {:?}", site.paths());
        });
    }
}

/// RFC 9309 §2.2.2: `/%7Ejoe` and `/~joe` are one path to robots.txt,
/// whichever side spells it escaped and in whatever hex case.
#[test]
fn robots_rules_match_escaped_and_plain_spellings_of_a_path() {
    solo::run(async {
        let site = start(|path: String| {
            std::future::ready(match path.as_str() {
                "/robots.txt" => SiteResponse::typed(
                    200,
                    "text/plain",
                    "User-agent: *\nDisallow: /%7Ejoe\nDisallow: /~ann\nDisallow: /a%2fb\n",
                ),
                "/" => page(
                    "root",
                    &["/~joe/private", "/%7eann/y", "/a%2Fb", "/a/b", "/ok"],
                ),
                _ => page("p", &[]),
            })
        })
        .await;
        let cfg = Config {
            obey_robots: true,
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        assert_eq!(site.count("/~joe/private"), 0, "{:?}", site.paths());
        assert_eq!(site.count("/%7eann/y"), 0, "{:?}", site.paths());
        assert_eq!(site.count("/a%2Fb"), 0, "{:?}", site.paths());
        assert_eq!(record_paths(&recs), ["/", "/a/b", "/ok"]);
        assert_eq!(summary.filtered["robots"], 3);
    });
}

/// A robots.txt longer than `--max-bytes` is read as far as RFC 9309
/// asks (512 KiB here), its rules obeyed; it was refused whole and the
/// host crawled as if it had none. Past 512 KiB nothing is read.
#[test]
fn a_robots_txt_over_max_bytes_is_still_obeyed_up_to_its_limit() {
    let mut long = String::from("User-agent: *\nDisallow: /secret/\n");
    while long.len() < 150_000 {
        long.push_str("# a comment line that makes this robots.txt long\n");
    }
    let mut huge = long.clone();
    while huge.len() < 600 << 10 {
        huge.push_str("# a comment line that makes this robots.txt long\n");
    }
    huge.push_str("Disallow: /p1\n"); // past the limit: not read
    for (robots, fetched) in [(long, vec!["/", "/p1"]), (huge, vec!["/", "/p1"])] {
        let robots: &'static str = Box::leak(robots.into_boxed_str());
        solo::run(async move {
            let site = start(robots_site(robots)).await;
            let cfg = Config {
                obey_robots: true,
                max_bytes: 100 << 10,
                ..quick()
            };
            let (summary, recs) = crawl_links(vec![site.base.clone()], cfg).await;
            assert_eq!(site.count("/secret/x"), 0, "{:?}", site.paths());
            assert_eq!(summary.filtered["robots"], 1);
            let paths = record_paths(&recs);
            for p in fetched {
                assert!(paths.iter().any(|x| x == p), "{paths:?}");
            }
        });
    }
}

#[test]
fn missing_robots_allows_all_and_ignore_robots_skips_it() {
    solo::run(async {
        let site = start(robots_site("404")).await;
        let cfg = Config {
            obey_robots: true,
            ..quick()
        };
        let (_, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        assert_eq!(recs.len(), 6);
        assert_eq!(site.count("/robots.txt"), 1);

        let site = start(robots_site("User-agent: *\nDisallow: /\n")).await;
        let (_, recs) = crawl_links(vec![site.base.clone()], quick()).await;
        assert_eq!(recs.len(), 6, "--ignore-robots crawls everything");
        assert_eq!(site.count("/robots.txt"), 0);
    });
}

/// A site whose robots.txt (`Disallow: /secret`) answers `status` (then
/// hangs with 0) to the first `failures` asks, and the robots.txt after.
fn flaky_robots(
    status: u16,
    failures: usize,
) -> impl Fn(String) -> std::pin::Pin<Box<dyn std::future::Future<Output = SiteResponse>>> {
    let asked = Rc::new(Cell::new(0));
    move |path: String| {
        let asked = asked.clone();
        Box::pin(async move {
            match path.as_str() {
                "/robots.txt" => {
                    asked.set(asked.get() + 1);
                    if asked.get() > failures {
                        return SiteResponse::typed(
                            200,
                            "text/plain",
                            "User-agent: *\nDisallow: /secret\n",
                        );
                    }
                    if status == 0 {
                        solo::sleep(Duration::from_secs(30)).await;
                    }
                    SiteResponse::status(status).with_header("retry-after", "0")
                }
                "/" => page("root", &["/p1", "/secret"]),
                _ => page("p", &[]),
            }
        })
    }
}

/// A host's robots.txt is fetched again once `Config::robots_max_age`
/// has passed (RFC 9309 §2.4: not kept for more than 24 hours): a long
/// crawl obeys what the site says now. Here it first disallows `/late/`,
/// then allows it; the link to `/late/x` comes from a slow page.
#[test]
fn robots_txt_is_fetched_again_after_its_max_age() {
    for (max_age, late_fetched, robots_fetches) in [
        (Duration::from_millis(200), 1, 2),
        (Duration::from_secs(86_400), 0, 1),
    ] {
        solo::run(async move {
            let asked = Rc::new(std::cell::Cell::new(0));
            let count = asked.clone();
            let site = start(move |path: String| {
                let asked = asked.clone();
                Box::pin(async move {
                    match path.as_str() {
                        "/robots.txt" => {
                            asked.set(asked.get() + 1);
                            let rules = match asked.get() {
                                1 => "User-agent: *\nDisallow: /late/\n",
                                _ => "User-agent: *\nDisallow:\n",
                            };
                            SiteResponse::typed(200, "text/plain", rules)
                        }
                        "/" => page("root", &["/wait"]),
                        "/wait" => {
                            solo::sleep(Duration::from_millis(500)).await;
                            page("wait", &["/late/x"])
                        }
                        _ => page("p", &[]),
                    }
                })
            })
            .await;
            let cfg = Config {
                obey_robots: true,
                robots_max_age: max_age,
                ..quick()
            };
            crawl_links(vec![site.base.clone()], cfg).await;
            assert_eq!(site.count("/late/x"), late_fetched, "{:?}", site.paths());
            assert_eq!(count.get(), robots_fetches, "{max_age:?}");
        });
    }
}

/// The statistics count `failed` robots.txt answers of `status` (0: a
/// timeout), and their retries (`--retries 2`), as a page's.
fn robots_tries_counted(summary: &solo_crawl::Summary, status: u16, failed: u64) {
    let c = &summary.counts;
    assert_eq!(c.retries, 2, "{status}: {c:?}");
    match status {
        0 => assert_eq!(c.errors["timeout"], failed, "{c:?}"),
        s => assert_eq!(c.statuses[&s], failed, "{c:?}"),
    }
}

/// RFC 9309 §2.3.1.4: a robots.txt that answers 5xx or 429, or not at
/// all, is retried like a page; if it never comes, nothing of the host is
/// fetched (the start URL's failure says why), unless
/// `robots_unreachable` is `Allow` (Scrapy's behaviour).
#[test]
fn an_unreachable_robots_txt_is_retried_then_disallows_all() {
    use solo_crawl::RobotsUnreachable;
    solo::run(async {
        let cfg = || Config {
            obey_robots: true,
            max_retries: 2,
            timeout: Duration::from_millis(500),
            ..quick()
        };
        // Answers on the third try: its rules are obeyed.
        for status in [503, 429, 500, 0] {
            let site = start(flaky_robots(status, 2)).await;
            let (summary, recs) = crawl_links(vec![site.base.clone()], cfg()).await;
            assert_eq!(site.count("/robots.txt"), 3, "{status}");
            assert_eq!(record_paths(&recs), ["/", "/p1"], "{status}");
            assert_eq!(summary.filtered["robots"], 1, "{status}");
            // Its tries are counted as a page's are (they were not).
            robots_tries_counted(&summary, status, 2);
            assert_eq!(summary.counts.statuses[&200], 1 + 2, "{status}");
        }
        // Never answers: nothing of the host is fetched.
        for status in [503, 429, 0] {
            let site = start(flaky_robots(status, 100)).await;
            let (summary, recs) = crawl_links(vec![site.base.clone()], cfg()).await;
            assert_eq!(site.paths(), ["/robots.txt"; 3], "{status}");
            robots_tries_counted(&summary, status, 3);
            // The start URL's record says why it was not fetched.
            assert_eq!(record_paths(&recs), ["/"], "{status}");
            assert!(recs[0].status.is_none());
            let error = recs[0].error.as_deref().unwrap_or_default();
            assert!(error.starts_with("robots_unreachable: "), "{error}");
            assert_eq!(summary.filtered["robots_unreachable"], 1, "{status}");
            assert_eq!(summary.seeds_ok, 0);
            let failed = summary.seeds_failed.join("\n");
            assert!(
                failed.contains("robots.txt could not be fetched"),
                "{failed}"
            );
            let why = if status == 0 {
                "timeout".to_owned()
            } else {
                format!("HTTP {status}")
            };
            assert!(failed.contains(&why), "{failed}");
        }
        // Scrapy's way, when asked for.
        let site = start(flaky_robots(503, 100)).await;
        let allow = Config {
            robots_unreachable: RobotsUnreachable::Allow,
            ..cfg()
        };
        let (_, recs) = crawl_links(vec![site.base.clone()], allow).await;
        assert_eq!(record_paths(&recs), ["/", "/p1", "/secret"]);
    });
}

/// A site of `n` pages that all link to each other's first few, on two
/// hosts that link across; each request takes 20 ms.
fn slow_mesh(
    other: Rc<Cell<u16>>,
    n: u32,
) -> impl Fn(String) -> std::pin::Pin<Box<dyn std::future::Future<Output = SiteResponse>>> {
    move |path: String| {
        let other = other.get();
        Box::pin(async move {
            solo::sleep(Duration::from_millis(20)).await;
            let i: u32 = path.trim_start_matches("/p").parse().unwrap_or(0);
            let links: Vec<String> = (0..n)
                .filter(|j| j / 10 == i / 10 || *j == (i + 1) % n)
                .map(|j| format!("/p{j}"))
                .chain([format!("http://127.0.0.1:{other}/p{i}")])
                .collect();
            let refs: Vec<&str> = links.iter().map(|s| s.as_str()).collect();
            page(&path, &refs)
        })
    }
}

#[test]
fn per_host_and_global_limits_are_never_exceeded() {
    solo::run(async {
        let (pa, pb) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let a = start(slow_mesh(pb.clone(), 40)).await;
        let b = start(slow_mesh(pa.clone(), 40)).await;
        pa.set(a.base.port().unwrap());
        pb.set(b.base.port().unwrap());
        let cfg = Config {
            per_host: 3,
            concurrency: 100,
            ..quick()
        };
        let (summary, _) = crawl_links(vec![a.base.clone()], cfg).await;
        assert_eq!(
            summary.counts.pages,
            41 + 40,
            "40 pages and / on A, 40 pages on B"
        );
        assert!(a.max_concurrent.get() <= 3, "{}", a.max_concurrent.get());
        assert!(b.max_concurrent.get() <= 3, "{}", b.max_concurrent.get());
        assert!(a.max_concurrent.get() >= 1 && b.max_concurrent.get() >= 1);

        // The global limit binds when it is the smaller one.
        let (pa, pb) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let a = start(slow_mesh(pb.clone(), 20)).await;
        let b = start(slow_mesh(pa.clone(), 20)).await;
        pa.set(a.base.port().unwrap());
        pb.set(b.base.port().unwrap());
        let in_all = Rc::new(Cell::new(0usize));
        let cfg = Config {
            per_host: 10,
            concurrency: 4,
            ..quick()
        };
        let watch = {
            let (a, b, m) = (a.clone(), b.clone(), in_all.clone());
            solo::spawn(async move {
                loop {
                    m.set(m.get().max(a.current.get() + b.current.get()));
                    solo::sleep(Duration::from_millis(1)).await;
                }
            })
        };
        let (summary, _) = crawl_links(vec![a.base.clone()], cfg).await;
        watch.cancel();
        assert_eq!(summary.counts.pages, 21 + 20);
        assert!(in_all.get() <= 4, "{}", in_all.get());
    });
}

#[test]
fn a_slow_host_does_not_hold_up_the_others() {
    solo::run(async {
        let slow = start(|path: String| async move {
            solo::sleep(Duration::from_millis(300)).await;
            let i: u32 = path.trim_start_matches("/s").parse().unwrap_or(0);
            if i < 5 {
                page("slow", &[&format!("/s{}", i + 1)])
            } else {
                page("slow", &[])
            }
        })
        .await;
        let fast = start(|path: String| async move {
            let i: u32 = path.trim_start_matches("/f").parse().unwrap_or(0);
            if i < 40 {
                page("fast", &[&format!("/f{}", i + 1)])
            } else {
                page("fast", &[])
            }
        })
        .await;
        let cfg = Config {
            per_host: 1,
            concurrency: 2,
            ..quick()
        };
        let (_, recs) = crawl_links(vec![slow.url("/s0"), fast.url("/f0")], cfg).await;
        assert_eq!(recs.len(), 6 + 41);
        let last_fast = recs.iter().rposition(|r| r.url.contains("/f")).unwrap();
        let last_slow = recs.iter().rposition(|r| r.url.contains("/s")).unwrap();
        assert!(last_fast < last_slow, "the fast host finished first");
    });
}

#[test]
fn retries_honour_retry_after_and_give_up_after_max() {
    solo::run(async {
        let flaky = Rc::new(Cell::new(0));
        let f = flaky.clone();
        let site = start(move |path: String| {
            let f = f.clone();
            async move {
                match path.as_str() {
                    "/" => page("root", &["/flaky", "/always500", "/throttled"]),
                    "/flaky" => {
                        f.set(f.get() + 1);
                        if f.get() <= 2 {
                            SiteResponse::status(503).with_header("Retry-After", "1")
                        } else {
                            page("ok at last", &[])
                        }
                    }
                    "/throttled" => SiteResponse::status(429).with_header("Retry-After", "0"),
                    _ => SiteResponse::status(500),
                }
            }
        })
        .await;
        let cfg = Config {
            max_retries: 2,
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        let r = record(&recs, "/flaky");
        assert_eq!(r.status, Some(200));
        assert_eq!(r.title.as_deref(), Some("ok at last"));
        let t = site.times("/flaky");
        assert_eq!(t.len(), 3);
        assert!(
            t[1] - t[0] >= Duration::from_millis(950),
            "Retry-After: 1 honoured"
        );
        assert!(t[2] - t[1] >= Duration::from_millis(950));
        assert_eq!(record(&recs, "/always500").status, Some(500));
        assert_eq!(site.count("/always500"), 3);
        assert_eq!(record(&recs, "/throttled").status, Some(429));
        assert_eq!(summary.counts.retries, 2 + 2 + 2);
        assert_eq!(summary.counts.statuses[&503], 2);
        assert_eq!(recs.len(), 4);
    });
}

#[test]
fn connect_errors_are_retried_then_recorded() {
    solo::run(async {
        // A port nothing listens on.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = url::Url::parse(&format!("http://{}/", l.local_addr().unwrap())).unwrap();
        drop(l);
        let (summary, recs) = crawl_links(vec![url], quick()).await;
        assert_eq!(recs.len(), 1);
        let e = recs[0].error.as_deref().unwrap();
        assert!(e.starts_with("connect:"), "{e}");
        assert_eq!(recs[0].status, None);
        assert_eq!(summary.counts.retries, 2);
        assert_eq!(summary.counts.errors["connect"], 3);
        assert_eq!(summary.seeds_ok, 0);
        assert_eq!(summary.seeds_failed.len(), 1);
    });
}

#[test]
fn timeouts_end_hung_requests() {
    solo::run(async {
        let site = start(|path: String| async move {
            match path.as_str() {
                "/" => page("root", &["/hang", "/trickle", "/ok"]),
                "/hang" => {
                    solo::sleep(Duration::from_secs(30)).await;
                    page("never", &[])
                }
                // Headers, then a body that never finishes.
                "/trickle" => SiteResponse::raw(
                    "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly a little",
                ),
                _ => page("ok", &[]),
            }
        })
        .await;
        let cfg = Config {
            timeout: Duration::from_millis(300),
            max_retries: 1,
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        let h = record(&recs, "/hang");
        assert!(h.error.as_deref().unwrap().starts_with("timeout:"), "{h:?}");
        assert_eq!(site.count("/hang"), 2, "one retry");
        // A server that closes early gives an error, not a short page.
        let t = record(&recs, "/trickle");
        assert!(t.error.is_some(), "{t:?}");
        assert_eq!(record(&recs, "/ok").status, Some(200));
        assert_eq!(summary.counts.errors["timeout"], 2);
    });
}

#[test]
fn only_html_is_parsed_for_links() {
    solo::run(async {
        let site = start(|path: String| async move {
            match path.as_str() {
                "/" => page("root", &["/data.json", "/img.png", "/untyped", "/text"]),
                "/data.json" => SiteResponse::typed(
                    200,
                    "application/json",
                    r#"{"x": "<a href='/from-json'>"}"#,
                ),
                "/img.png" => {
                    SiteResponse::typed(200, "image/png", b"\x89PNG<a href=/from-png>".to_vec())
                }
                "/text" => SiteResponse::typed(200, "text/plain", "<a href=/from-text>"),
                "/untyped" => {
                    SiteResponse::html("<a href=/from-untyped>x</a>").with_header("X", "y")
                }
                "/from-untyped" => page("ok", &[]),
                _ => SiteResponse::status(404),
            }
        })
        .await;
        let (_, recs) = crawl_links(vec![site.base.clone()], quick()).await;
        assert_eq!(site.count("/from-json"), 0);
        assert_eq!(site.count("/from-png"), 0);
        assert_eq!(site.count("/from-text"), 0);
        assert_eq!(site.count("/from-untyped"), 1);
        assert_eq!(record(&recs, "/img.png").links, 0);
        assert_eq!(record(&recs, "/img.png").bytes, 22);
        assert_eq!(recs.len(), 6);
    });
}

#[test]
fn charsets_invalid_utf8_and_chunked_bodies() {
    solo::run(async {
        let site = start(|path: String| async move {
            match path.as_str() {
                "/" => page(
                    "root",
                    &[
                        "/latin1",
                        "/meta",
                        "/broken",
                        "/undeclared",
                        "/chunked",
                        "/close",
                    ],
                ),
                "/latin1" => SiteResponse::typed(
                    200,
                    "text/html; charset=ISO-8859-1",
                    b"<title>Caf\xe9 cr\xe8me</title><a href=\"/l\xe9\">x</a>".to_vec(),
                ),
                "/meta" => SiteResponse::typed(
                    200,
                    "text/html",
                    b"<meta charset=\"windows-1252\"><title>\x93quoted\x94</title>".to_vec(),
                ),
                "/broken" => SiteResponse::typed(
                    200,
                    "text/html; charset=utf-8",
                    b"<title>bad \xff\xfe bytes</title><a href=\"/after-broken\">x</a>".to_vec(),
                ),
                "/undeclared" => SiteResponse::typed(
                    200,
                    "text/html",
                    b"<title>caf\xe9 na\xefve</title>".to_vec(),
                ),
                "/chunked" => {
                    page("chunked", &["/after-chunked"]).with_framing(Framing::Chunked(7))
                }
                "/close" => page("close", &[]).with_framing(Framing::Close),
                "/l%C3%A9" | "/after-broken" | "/after-chunked" => page("leaf", &[]),
                _ => SiteResponse::status(404),
            }
        })
        .await;
        let (_, recs) = crawl_links(vec![site.base.clone()], quick()).await;
        assert_eq!(
            record(&recs, "/latin1").title.as_deref(),
            Some("Café crème")
        );
        assert_eq!(
            record(&recs, "/meta").title.as_deref(),
            Some("\u{201c}quoted\u{201d}")
        );
        assert_eq!(
            record(&recs, "/broken").title.as_deref(),
            Some("bad \u{fffd}\u{fffd} bytes")
        );
        // No charset anywhere and not UTF-8: windows-1252, as browsers
        // and Scrapy read it (it was U+FFFD for each accented letter).
        assert_eq!(
            record(&recs, "/undeclared").title.as_deref(),
            Some("café naïve")
        );
        assert_eq!(
            site.count("/l%C3%A9"),
            1,
            "latin-1 href, UTF-8 percent-encoded"
        );
        assert_eq!(site.count("/after-broken"), 1);
        assert_eq!(site.count("/after-chunked"), 1);
        assert_eq!(record(&recs, "/chunked").title.as_deref(), Some("chunked"));
        assert_eq!(record(&recs, "/close").title.as_deref(), Some("close"));
        assert!(recs.iter().all(|r| r.error.is_none()), "{recs:#?}");
    });
}

#[test]
fn pages_over_the_size_limit_are_error_records() {
    solo::run(async {
        let big = "x".repeat(5000);
        let site = start(move |path: String| {
            let big = big.clone();
            async move {
                match path.as_str() {
                    "/" => page("root", &["/big", "/big-chunked", "/big-close", "/small"]),
                    "/big" => SiteResponse::html(big),
                    "/big-chunked" => SiteResponse::html(big).with_framing(Framing::Chunked(512)),
                    "/big-close" => SiteResponse::html(big).with_framing(Framing::Close),
                    _ => page("small", &[]),
                }
            }
        })
        .await;
        let cfg = Config {
            max_bytes: 1000,
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        for p in ["/big", "/big-chunked", "/big-close"] {
            let r = record(&recs, p);
            assert!(
                r.error.as_deref().unwrap_or("").starts_with("too_large:"),
                "{r:?}"
            );
            assert_eq!(r.status, Some(200));
            assert_eq!(site.count(p), 1, "not retried");
        }
        assert_eq!(record(&recs, "/small").error, None);
        assert_eq!(summary.counts.errors["too_large"], 3);
    });
}

#[test]
fn garbage_from_the_server_is_an_error_not_a_panic() {
    solo::run(async {
        let site =
            start(|path: String| async move {
                match path.as_str() {
                "/" => page("root", &["/garbage", "/empty", "/badlen", "/badchunk", "/huge-head"]),
                "/garbage" => SiteResponse::raw("HELLO THERE\r\n\r\n"),
                "/empty" => SiteResponse::raw(""),
                "/badlen" => SiteResponse::raw("HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n"),
                "/badchunk" => SiteResponse::raw(
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
                ),
                "/huge-head" => SiteResponse::raw(format!(
                    "HTTP/1.1 200 OK\r\nX: {}\r\n\r\n",
                    "a".repeat(100_000)
                )),
                _ => SiteResponse::status(404),
            }
            })
            .await;
        let cfg = Config {
            max_retries: 0,
            ..quick()
        };
        let (_, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        assert_eq!(recs.len(), 6);
        for p in ["/garbage", "/badlen", "/badchunk", "/huge-head"] {
            let r = record(&recs, p);
            assert!(
                r.error.as_deref().unwrap().starts_with("invalid_response:"),
                "{r:?}"
            );
        }
        assert!(record(&recs, "/empty")
            .error
            .as_deref()
            .unwrap()
            .starts_with("io:"));
    });
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, PartialEq)]
enum Cb {
    #[default]
    List,
    Detail,
    Boom,
}

/// A spider with two callbacks, items, meta, and a callback that panics.
struct Shop;

impl Spider for Shop {
    type Callback = Cb;

    fn start_requests(&self) -> Vec<Request<Cb>> {
        Vec::new() // given per test through ShopAt
    }

    async fn parse(&self, cb: Cb, response: &Response, out: &mut Output<Cb>) {
        match cb {
            Cb::List => {
                for a in response.select("a.item").unwrap() {
                    let href = a.attr("href").unwrap();
                    let name: String = a.text().collect();
                    let r = response.follow(href, Cb::Detail).unwrap();
                    out.follow(r.with_meta(serde_json::json!({ "name": name })));
                }
                out.follow(response.follow("/boom", Cb::Boom).unwrap());
            }
            Cb::Detail => {
                let price = response.select("span.price").unwrap()[0]
                    .text()
                    .collect::<String>();
                out.item(serde_json::json!({
                    "name": response.meta()["name"],
                    "price": price,
                    "depth": response.depth(),
                }));
            }
            Cb::Boom => {
                // What it emitted before the panic is kept.
                out.item(serde_json::json!({"name": "before the panic", "price": "0", "depth": 1}));
                let after = response.follow("/after", Cb::Detail).unwrap();
                out.follow(after.with_meta(serde_json::json!({ "name": "after" })));
                panic!("a bug in the spider")
            }
        }
    }
}

struct ShopAt(url::Url);

impl Spider for ShopAt {
    type Callback = Cb;
    fn start_requests(&self) -> Vec<Request<Cb>> {
        // A host that refuses connections: its on_error panics.
        let refused = url::Url::parse("http://127.0.0.1:1/gone").unwrap();
        vec![
            Request::new(self.0.clone(), Cb::List),
            Request::new(refused, Cb::Detail),
        ]
    }
    async fn parse(&self, cb: Cb, response: &Response, out: &mut Output<Cb>) {
        Shop.parse(cb, response, out).await
    }
    async fn on_error(
        &self,
        request: &Request<Cb>,
        _: solo_crawl::Failure<'_>,
        out: &mut Output<Cb>,
    ) {
        if request.url.port() == Some(1) {
            out.item(serde_json::json!({"name": "from on_error", "price": "0", "depth": 0}));
            panic!("a bug in on_error")
        }
    }
}

/// Crawls with `spider` (page records into `pages`): the summary and
/// the items, sorted by their `name`.
async fn crawl_for_items<S: Spider>(
    spider: S,
    pages: solo_crawl::output::SharedBuf,
) -> (solo_crawl::Summary, Vec<serde_json::Value>) {
    let items = solo_crawl::output::SharedBuf::default();
    let out = solo_crawl::OutputConfig {
        pages: solo_crawl::Target::Buffer(pages),
        items: solo_crawl::Target::Buffer(items.clone()),
        ..Default::default()
    };
    let summary = solo_crawl::Crawler::new(spider, quick())
        .output(out)
        .run()
        .await
        .unwrap();
    let text = String::from_utf8(items.lock().unwrap().clone()).unwrap();
    let mut got: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    got.sort_by_key(|v| v["name"].as_str().unwrap().to_owned());
    (summary, got)
}

/// A spider written with XPath as Scrapy spiders are: nested
/// `.xpath('./...')` per product, `text()`, `@href`, scalars, and CSS
/// mixed in.
struct XPathShop(url::Url);

impl Spider for XPathShop {
    type Callback = Cb;

    fn start_requests(&self) -> Vec<Request<Cb>> {
        vec![Request::new(self.0.clone(), Cb::List)]
    }

    async fn parse(&self, cb: Cb, response: &Response, out: &mut Output<Cb>) {
        match cb {
            Cb::List => {
                let count = response.xpath("count(//div[@class='product'])").unwrap();
                assert_eq!(count.get().as_deref(), Some("2"));
                for product in response.xpath("//div[@class='product']").unwrap() {
                    let name = product.xpath("./h2/text()").unwrap().get().unwrap();
                    let href = product.xpath("./a/@href").unwrap().get().unwrap();
                    let r = response.follow(&href, Cb::Detail).unwrap();
                    out.follow(r.with_meta(serde_json::json!({ "name": name })));
                }
                let next = response.xpath("//a[@rel='next']/@href").unwrap().get();
                if let Some(next) = next {
                    out.follow(response.follow(&next, Cb::List).unwrap());
                }
            }
            Cb::Detail => {
                let price = response.xpath("normalize-space(//span[@class='price'])");
                let tags = response.css("ul.tags").unwrap().xpath("li/text()").unwrap();
                out.item(serde_json::json!({
                    "name": response.meta()["name"],
                    "price": price.unwrap().get(),
                    "tags": tags.getall(),
                }));
            }
            Cb::Boom => {}
        }
    }
}

#[test]
fn a_spider_parses_with_xpath() {
    solo::run(async {
        let product = |name: &str, href: &str| {
            format!(r#"<div class="product"><h2>{name}</h2><a href="{href}">more</a></div>"#)
        };
        let site = start(move |path: String| {
            let body = match path.as_str() {
                "/" => format!(
                    r#"{}{}<a rel="next" href="/page2">next</a>"#,
                    product("Teapot", "/p/1"),
                    product("Cup", "/p/2")
                ),
                "/page2" => format!("{}{}", product("Pot", "/p/3"), product("Lid", "/p/4")),
                "/p/1" => r#"<span class="price"> 12
                    EUR </span><ul class="tags"><li>tea</li><li>china</li></ul>"#
                    .into(),
                p => format!(r#"<span class="price">{}</span>"#, p.len()),
            };
            async move { SiteResponse::html(body) }
        })
        .await;
        let spider = XPathShop(site.base.clone());
        let (summary, got) = crawl_for_items(spider, Default::default()).await;
        assert_eq!(summary.counts.pages, 6);
        assert_eq!(
            got,
            [
                serde_json::json!({"name": "Cup", "price": "4", "tags": []}),
                serde_json::json!({"name": "Lid", "price": "4", "tags": []}),
                serde_json::json!({"name": "Pot", "price": "4", "tags": []}),
                serde_json::json!({"name": "Teapot", "price": "12 EUR", "tags": ["tea", "china"]}),
            ]
        );
    });
}

#[test]
fn a_spider_with_callbacks_items_and_a_panic() {
    solo::run(async {
        let site = start(|path: String| async move {
            match path.as_str() {
                "/" => SiteResponse::html(
                    r#"<a class=item href="/p/1">Teapot</a><a class=item href="/p/2">Cup</a><a href="/about">about</a>"#,
                ),
                "/p/1" => SiteResponse::html("<span class=price>12</span>"),
                "/p/2" => SiteResponse::html("<span class=price>3</span>"),
                "/boom" => SiteResponse::html("boom"),
                "/after" => SiteResponse::html("<span class=price>1</span>"),
                _ => SiteResponse::status(404),
            }
        })
        .await;
        let pages = solo_crawl::output::SharedBuf::default();
        let spider = ShopAt(site.base.clone());
        let (summary, got) = crawl_for_items(spider, pages.clone()).await;
        assert_eq!(summary.counts.pages, 6);
        assert_eq!(summary.counts.items, 5);
        assert_eq!(
            site.count("/about"),
            0,
            "only the callback's requests are followed"
        );
        assert_eq!(
            got,
            [
                serde_json::json!({"name": "Cup", "price": "3", "depth": 1}),
                serde_json::json!({"name": "Teapot", "price": "12", "depth": 1}),
                serde_json::json!({"name": "after", "price": "1", "depth": 2}),
                serde_json::json!({"name": "before the panic", "price": "0", "depth": 1}),
                serde_json::json!({"name": "from on_error", "price": "0", "depth": 0}),
            ]
        );
        // The fetch's own error, then the panic (it lost both, before).
        let recs = records(&pages);
        let gone = record(&recs, "/gone");
        let e = gone.error.as_deref().unwrap_or_default();
        assert!(
            e.contains("refused")
                && e.ends_with("the spider's callback panicked: a bug in on_error"),
            "{e}"
        );
        let boom = record(&recs, "/boom");
        assert_eq!(
            boom.error.as_deref(),
            Some("the spider's callback panicked: a bug in the spider")
        );
        // The answer is kept in the record.
        assert_eq!(boom.status, Some(200));
        assert_eq!(boom.bytes, 4);
        assert_eq!(summary.counts.errors["panic"], 2);
    });
}

#[test]
fn max_pages_stops_the_crawl() {
    let site = DemoSite::start(1000).unwrap();
    let cfg = Config {
        max_pages: Some(25),
        ..Config::default()
    };
    let (summary, recs) = solo::run(crawl_links(vec![site.url()], cfg));
    assert_eq!(recs.len(), 25);
    assert_eq!(summary.counts.pages, 25);
    assert!(summary.filtered["max_pages"] > 0);
}

#[test]
fn a_stop_handle_stops_gracefully() {
    let site = DemoSite::start(100_000).unwrap();
    let pages = solo_crawl::output::SharedBuf::default();
    let out = solo_crawl::OutputConfig {
        pages: solo_crawl::Target::Buffer(pages.clone()),
        ..Default::default()
    };
    let crawler = solo_crawl::Crawler::new(
        solo_crawl::LinkSpider::new(vec![site.url()]),
        Config::default(),
    )
    .output(out);
    let stop = crawler.stop_handle();
    let summary = solo::run(async move {
        solo::spawn(async move {
            solo::sleep(Duration::from_millis(300)).await;
            stop.stop();
        });
        crawler.run().await.unwrap()
    });
    assert!(summary.interrupted);
    assert!(summary.counts.pages > 0);
    // Everything started was finished and written out.
    assert_eq!(records(&pages).len() as u64, summary.counts.pages);
    assert!(summary.queued > 0);
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("solo-crawl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn a_small_memory_cap_spills_to_the_store_and_loses_nothing() {
    let site = DemoSite::start(700).unwrap();
    let dir = temp_dir("spill");
    let cfg = Config {
        state_dir: Some(dir.clone()),
        frontier_cap: 20,
        backoff_base: Duration::from_millis(10),
        ..Config::default()
    };
    let (summary, recs) = solo::run(crawl_links(vec![site.url()], cfg));
    let got: Vec<String> = record_paths(&recs);
    let unique: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(unique, demo_reachable(700));
    assert_eq!(got.len(), unique.len(), "each page once");
    assert_eq!(summary.queued, 0);
    assert!(!summary.resumed);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_stopped_crawl_resumes_where_it_stopped() {
    let site = DemoSite::start(3000).unwrap();
    let dir = temp_dir("resume");
    let file = dir.with_extension("jsonl");
    let _ = std::fs::remove_file(&file);
    let cfg = || Config {
        state_dir: Some(dir.clone()),
        frontier_cap: 200,
        per_host: 4,
        backoff_base: Duration::from_millis(10),
        ..Config::default()
    };
    let out = || solo_crawl::OutputConfig {
        pages: solo_crawl::Target::File(file.clone()),
        ..Default::default()
    };
    // Stop it three times midway, then let it finish.
    let mut runs = 0;
    loop {
        runs += 1;
        let crawler =
            solo_crawl::Crawler::new(solo_crawl::LinkSpider::new(vec![site.url()]), cfg())
                .output(out());
        let stop = crawler.stop_handle();
        let last = runs > 3;
        let summary = solo::run(async move {
            if !last {
                solo::spawn(async move {
                    solo::sleep(Duration::from_millis(150)).await;
                    stop.stop();
                });
            }
            crawler.run().await.unwrap()
        });
        assert_eq!(summary.resumed, runs > 1);
        assert_eq!(summary.interrupted, !last, "stopped midway, or finished");
        if last {
            assert!(!summary.interrupted);
            break;
        }
    }
    let text = std::fs::read_to_string(&file).unwrap();
    let recs: Vec<solo_crawl::PageRecord> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got = record_paths(&recs);
    let unique: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(unique, demo_reachable(3000));
    assert_eq!(
        got.len(),
        unique.len(),
        "a graceful stop fetches nothing twice"
    );
    // A finished crawl has nothing left to do.
    let (summary, recs) = solo::run(crawl_links(vec![site.url()], cfg()));
    assert!(summary.resumed);
    assert_eq!(recs.len(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&file).unwrap();
}

/// Under `max_pages`, a host's robots.txt is fetched only while the page
/// budget, counting the pages started and a page for each robots.txt
/// being fetched, can still reach its pages: a 3-page sample of 20 seed
/// hosts does not contact all 20. A host that yields no page (its start
/// URL disallowed) gives its share back. What is left is counted as
/// skipped for the budget, each once.
#[test]
fn max_pages_does_not_fetch_every_seed_hosts_robots_txt() {
    solo::run(async {
        let mut sites = Vec::new();
        for _ in 0..20 {
            let site = start(routes(vec![
                (
                    "/robots.txt",
                    SiteResponse::typed(200, "text/plain", "User-agent: *\nDisallow: /private\n"),
                ),
                ("/", page("home", &[])),
            ]))
            .await;
            sites.push(site);
        }
        let mut seeds: Vec<url::Url> = sites.iter().map(|s| s.url("/")).collect();
        seeds[0] = sites[0].url("/private");
        let cfg = Config {
            obey_robots: true,
            max_pages: Some(3),
            ..quick()
        };
        let (summary, recs) = crawl_links(seeds, cfg).await;
        let robots: usize = sites.iter().map(|s| s.count("/robots.txt")).sum();
        assert_eq!(recs.len(), 3, "{recs:?}");
        assert!(robots <= 5, "robots.txt fetched {robots} times for 3 pages");
        assert_eq!(summary.filtered["robots"], 1, "{summary}");
        assert_eq!(summary.filtered["max_pages"], 16, "{summary}");
    });
}

/// RFC 3986 6.2.2: URLs that differ only in the case of a percent-escape
/// or in an escaped unreserved character are one page (w3lib's
/// `canonicalize_url`): fetched once, as the first link wrote it.
#[test]
fn equivalent_percent_escapes_are_one_page() {
    solo::run(async {
        let site = start(|path: String| async move {
            match path.as_str() {
                "/" => page(
                    "root",
                    &[
                        "/caf%c3%a9.html",
                        "/caf%C3%A9.html",
                        "/%7Euser.html",
                        "/~user.html",
                        "/q?a=%7e",
                        "/q?a=~",
                    ],
                ),
                _ => page("leaf", &[]),
            }
        })
        .await;
        let (summary, recs) = crawl_links(vec![site.base.clone()], quick()).await;
        assert_eq!(
            record_paths(&recs),
            ["/", "/%7Euser.html", "/caf%c3%a9.html", "/q?a=%7e"],
            "{:?}",
            site.paths()
        );
        assert_eq!(site.paths().len(), 4);
        assert_eq!(summary.filtered["seen"], 3);
    });
}

/// `--depth` counts the shortest path: a page first reached by a long,
/// fast path and then by a shorter one behind a slow page is taken again
/// at the smaller depth, and its links within the limit are crawled.
#[test]
fn depth_is_the_shortest_path_even_when_a_longer_one_answers_first() {
    solo::run(async {
        let site = start(|path: String| async move {
            match path.as_str() {
                "/" => page("root", &["/slow", "/f1"]),
                "/slow" => {
                    solo::sleep(Duration::from_millis(300)).await;
                    page("slow", &["/p", "/gone"])
                }
                "/f1" => page("f1", &["/f2"]),
                "/f2" => page("f2", &["/p", "/gone"]),
                "/p" => page("p", &["/c"]),
                "/c" => page("c", &[]),
                _ => SiteResponse::status(404),
            }
        })
        .await;
        let cfg = Config {
            depth_limit: Some(3),
            ..quick()
        };
        let (_, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        let c = record(&recs, "/c");
        assert_eq!(c.depth, 3, "{recs:#?}");
        let p_depths: Vec<u32> = (recs.iter().filter(|r| r.url.ends_with("/p")))
            .map(|r| r.depth)
            .collect();
        assert_eq!(p_depths.iter().min(), Some(&2), "{recs:#?}");
        assert_eq!(site.count("/c"), 1);
        // A page without links (here a 404) found again by a shorter path
        // has nothing to gain from it: fetched once.
        assert_eq!(site.count("/gone"), 1, "{recs:#?}");
    });
}

/// A link to a host whose robots.txt cannot be fetched (server down,
/// name that does not resolve) is not fetched (RFC 9309: disallow all),
/// but has a record: its URL, the page linking to it, its depth, and why
/// (the robots.txt fetch's error), for a link checker to report.
#[test]
fn links_to_a_host_whose_robots_txt_is_unreachable_have_records() {
    solo::run(async {
        let site = start(|path: String| async move {
            match path.as_str() {
                "/" => page(
                    "root",
                    &[
                        "http://127.0.0.1:1/contact.html",
                        "http://shop.invalid/cart.html",
                        "/ok",
                    ],
                ),
                "/ok" => page("ok", &[]),
                _ => SiteResponse::status(404),
            }
        })
        .await;
        let cfg = Config {
            obey_robots: true,
            max_retries: 0,
            allow_domains: vec!["invalid".into()],
            ..quick()
        };
        let (summary, recs) = crawl_links(vec![site.base.clone()], cfg).await;
        assert_eq!(recs.len(), 4, "{recs:#?}");
        for (url, why) in [
            ("http://127.0.0.1:1/contact.html", "connect"),
            ("http://shop.invalid/cart.html", "dns"),
        ] {
            let r = recs.iter().find(|r| r.url == url).expect(url);
            assert_eq!(r.referer.as_deref(), Some(site.base.as_str()));
            assert_eq!((r.depth, r.status), (1, None));
            let error = r.error.as_deref().unwrap_or_default();
            assert!(
                error.starts_with("robots_unreachable: ") && error.contains("robots.txt"),
                "{error}"
            );
            assert!(error.contains(why), "{error}");
        }
        assert_eq!(summary.filtered["robots_unreachable"], 2);
        assert_eq!(summary.counts.errors["robots_unreachable"], 2);
    });
}

/// `Config::no_parent` (`--no-parent`, wget's `-np`): nothing above a
/// start URL's directory is followed — `/docs/v2/` stays under it, its
/// own directory without the slash included — while another start URL
/// opens its own, and page requisites are still fetched.
#[test]
fn no_parent_keeps_the_crawl_below_the_start_directories() {
    solo::run(async {
        let site = start(routes(vec![
            (
                "/docs/v2/index.html",
                page(
                    "v2",
                    &[
                        "/docs/v2/a",
                        "/docs/v2",
                        "/docs/v1/x",
                        "/",
                        "/docs/v2x",
                        "/blog/p",
                    ],
                ),
            ),
            ("/docs/v2/a", page("a", &["/docs/v2/sub/b"])),
            ("/docs/v2/sub/b", page("b", &[])),
            ("/docs/v2", page("v2 dir", &[])),
            ("/docs/v1/x", page("v1", &[])),
            ("/", page("root", &[])),
            ("/docs/v2x", page("v2x", &[])),
            ("/blog/p", page("post", &[])),
            ("/blog/", page("blog", &["/blog/q", "/docs/v1/x"])),
            ("/blog/q", page("q", &[])),
        ]))
        .await;
        let cfg = Config {
            no_parent: true,
            ..quick()
        };
        let seeds = vec![site.url("/docs/v2/index.html"), site.url("/blog/")];
        let (summary, recs) = crawl_links(seeds, cfg).await;
        let mut got = record_paths(&recs);
        got.sort();
        assert_eq!(
            got,
            [
                "/blog/",
                "/blog/p",
                "/blog/q",
                "/docs/v2",
                "/docs/v2/a",
                "/docs/v2/index.html",
                "/docs/v2/sub/b"
            ]
        );
        assert_eq!(site.count("/docs/v1/x"), 0);
        assert_eq!(
            summary.filtered["parent"], 4,
            "/docs/v1/x twice, /, /docs/v2x"
        );
    });
}
