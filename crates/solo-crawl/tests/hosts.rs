//! Hosts users meet: international names (punycode on the wire, Unicode
//! in records), IPv6 literals, and many names on one address sharing a
//! per-IP budget. Names come from a test resolver, so no query leaves the
//! machine; every site listens on a loopback address.

mod common;

use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;

use common::{crawl_links, page, quick, start_with, Site};
use solo_crawl::demo_site::{serve, SiteRequest, SiteResponse};
use solo_crawl::{Config, PageRecord};
use solo_http::Resolver;

/// A resolver that answers `ip` for each of `names`.
fn all_on(names: &[&str], ip: &str) -> Resolver {
    let ip: IpAddr = ip.parse().unwrap();
    Resolver::hosts(names.iter().map(|n| (*n, ip)))
}

/// What a site saw: (Host header, path) of each request.
type Seen = Rc<RefCell<Vec<(String, String)>>>;

/// Serves `handler` on 127.0.0.1, keeping each request's Host header.
async fn site_seeing_hosts<H>(handler: H) -> (u16, Seen)
where
    H: Fn(&str, u16) -> SiteResponse + 'static,
{
    let listener = solo::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Rc::default();
    let s = seen.clone();
    let handler = Rc::new(handler);
    solo::spawn(serve(listener, move |req: SiteRequest| {
        let host = req.header("host").unwrap_or("").to_owned();
        s.borrow_mut().push((host, req.path.clone()));
        let r = handler(&req.path, port);
        async move { r }
    }));
    (port, seen)
}

fn urls(records: &[PageRecord]) -> Vec<&str> {
    let mut v: Vec<&str> = records.iter().map(|r| r.url.as_str()).collect();
    v.sort();
    v
}

#[test]
fn an_international_host_is_punycode_on_the_wire_and_unicode_in_records() {
    solo::run(async {
        let (port, seen) = site_seeing_hosts(|path, port| {
            let uni = format!("http://bücher.test:{port}");
            let puny = format!("http://xn--bcher-kva.test:{port}");
            match path {
                "/robots.txt" => {
                    SiteResponse::typed(200, "text/plain", "User-agent: *\nDisallow: /private\n")
                }
                "/" => page(
                    "home",
                    &[
                        &format!("{uni}/a"),
                        &format!("{puny}/a"),
                        &format!("http://BÜCHER.test:{port}/b"),
                        "/r",
                        "/private",
                        // A look-alike (Cyrillic р, а): refused before DNS.
                        &format!("http://раypal.test:{port}/x"),
                    ],
                ),
                // A raw UTF-8 Location, as some servers send.
                "/r" => SiteResponse::redirect(302, &format!("{uni}/c")),
                "/sitemap.xml" => SiteResponse::typed(
                    200,
                    "application/xml",
                    format!("<urlset><url><loc>{uni}/s</loc></url><url><loc>{puny}/a</loc></url></urlset>"),
                ),
                "/a" | "/b" | "/c" | "/s" => page(path, &[&format!("{puny}/")]),
                _ => SiteResponse::status(404),
            }
        })
        .await;
        let cfg = Config {
            obey_robots: true,
            stay_on_start_hosts: false,
            resolver: Some(all_on(&["xn--bcher-kva.test"], "127.0.0.1")),
            ..quick()
        };
        let start = url::Url::parse(&format!("http://bücher.test:{port}/")).unwrap();
        let cfg = Config {
            sitemap_urls: vec![start.join("/sitemap.xml").unwrap()],
            ..cfg
        };
        let (summary, records) = crawl_links(vec![start], cfg).await;

        let seen = seen.borrow();
        let wire = format!("xn--bcher-kva.test:{port}");
        assert!(seen.iter().all(|(h, _)| *h == wire), "{seen:?}");
        let mut paths: Vec<&str> = seen.iter().map(|(_, p)| p.as_str()).collect();
        paths.sort();
        // One robots.txt; /a once for both spellings (links and the
        // sitemap); /private never.
        assert_eq!(
            paths,
            [
                "/",
                "/a",
                "/b",
                "/c",
                "/r",
                "/robots.txt",
                "/s",
                "/sitemap.xml"
            ]
        );

        let uni = format!("http://bücher.test:{port}");
        let want: Vec<String> = ["/", "/a", "/b", "/c", "/r", "/s", "/sitemap.xml"]
            .iter()
            .map(|p| format!("{uni}{p}"))
            .collect();
        assert_eq!(urls(&records), want, "{records:#?}");
        let r = common::record(&records, "/r");
        assert_eq!(r.redirect_to.as_deref(), Some(&*format!("{uni}/c")));
        assert_eq!(r.final_url.as_deref(), Some(&*format!("{uni}/r")));
        let c = common::record(&records, "/c");
        assert_eq!(c.redirected_from, [format!("{uni}/r")]);
        assert_eq!(c.referer.as_deref(), Some(&*format!("{uni}/")));
        assert_eq!(summary.filtered.get("bad_host"), Some(&1), "{summary}");
        assert_eq!(summary.filtered.get("robots"), Some(&1), "{summary}");
    });
}

#[test]
fn an_international_host_is_punycode_in_tls_sni_and_the_certificate_check() {
    solo::run(async {
        let (ca, _, server) = common::tls::pki_for(&["xn--bcher-kva.test"], &[b"http/1.1"]);
        let acceptor = futures_rustls::TlsAcceptor::from(server);
        let sni: Rc<RefCell<Vec<String>>> = Rc::default();
        let s = sni.clone();
        let (port, _) = common::tls::start(move |stream| {
            let (acceptor, s) = (acceptor.clone(), s.clone());
            async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    let name = tls.get_ref().1.server_name().unwrap_or("(none)");
                    s.borrow_mut().push(name.to_owned());
                    common::tls::serve_http1(tls).await;
                }
            }
        })
        .await;
        let seed = url::Url::parse(&format!("https://bücher.test:{port}/")).unwrap();
        let cfg = Config {
            root_certificates: vec![ca],
            resolver: Some(all_on(&["xn--bcher-kva.test"], "127.0.0.1")),
            max_pages: Some(3),
            ..quick()
        };
        let (_, records) = crawl_links(vec![seed], cfg).await;
        assert_eq!(records.len(), 3, "{records:#?}");
        let shown = format!("https://bücher.test:{port}/");
        for r in &records {
            assert_eq!(r.status, Some(200), "{r:?}");
            assert!(r.url.starts_with(&shown), "{r:?}");
        }
        let sni = sni.borrow();
        assert!(!sni.is_empty());
        assert!(sni.iter().all(|n| n == "xn--bcher-kva.test"), "{sni:?}");
    });
}

/// A listener on the IPv6 loopback, or `None` (with the reason printed)
/// where the machine has none.
async fn ipv6_listener() -> Option<solo::net::TcpListener> {
    match solo::net::TcpListener::bind("[::1]:0").await {
        Ok(l) => Some(l),
        Err(e) => {
            eprintln!("skipped: no IPv6 loopback on this machine ([::1]: {e})");
            None
        }
    }
}

#[test]
fn an_ipv6_literal_is_crawled_with_its_robots_txt_and_the_address_guard() {
    solo::run(async {
        let Some(listener) = ipv6_listener().await else {
            return;
        };
        let port = listener.local_addr().unwrap().port();
        let v4 = format!("http://127.0.0.1:{port}/elsewhere");
        let site: Site = start_with(listener, move |path: String| {
            let v4 = v4.clone();
            async move {
                match path.as_str() {
                    "/robots.txt" => SiteResponse::typed(
                        200,
                        "text/plain",
                        "User-agent: *\nDisallow: /private\n",
                    ),
                    "/" => page(
                        "home",
                        &[
                            "/a",
                            &format!("http://[::1]:{port}/b"),
                            // The same host, spelled out: one host, one page.
                            &format!("http://[0:0:0:0:0:0:0:1]:{port}/a"),
                            "/private",
                            // Loopback v4 is not the start URL's network.
                            &v4,
                        ],
                    ),
                    "/a" | "/b" => page(&path, &["/"]),
                    _ => SiteResponse::status(404),
                }
            }
        });
        assert_eq!(site.base.as_str(), format!("http://[::1]:{port}/"));
        let cfg = Config {
            obey_robots: true,
            stay_on_start_hosts: false,
            ..quick()
        };
        let (summary, records) = crawl_links(vec![site.url("/")], cfg).await;
        let mut paths = site.paths();
        paths.sort();
        assert_eq!(paths, ["/", "/a", "/b", "/robots.txt"]);
        assert_eq!(summary.filtered.get("robots"), Some(&1), "{summary}");
        let base = format!("http://[::1]:{port}");
        let ok: Vec<&PageRecord> = records.iter().filter(|r| r.error.is_none()).collect();
        assert_eq!(ok.len(), 3, "{records:#?}");
        for r in &ok {
            assert!(r.url.starts_with(&base), "{r:?}");
            assert_eq!(r.status, Some(200));
        }
        let blocked = common::record(&records, "/elsewhere");
        let e = blocked.error.as_deref().unwrap();
        assert!(e.starts_with("blocked_address"), "{e}");
    });
}

/// Four host names on one server (127.0.0.1), six pages each, every
/// answer slow enough that requests overlap; the site counts the most
/// requests it had in progress at once, over all names.
async fn shared_server() -> (Site, Vec<url::Url>, Resolver) {
    let site = common::start(|path: String| async move {
        solo::sleep(std::time::Duration::from_millis(40)).await;
        let parts: Vec<&str> = path.split('/').collect();
        match parts.as_slice() {
            ["", h, "0"] => {
                let links: Vec<String> = (1..6).map(|j| format!("/{h}/{j}")).collect();
                let links: Vec<&str> = links.iter().map(String::as_str).collect();
                page(h, &links)
            }
            ["", h, _] => page(h, &[&format!("/{h}/0")]),
            _ => SiteResponse::status(404),
        }
    })
    .await;
    let port = site.base.port().unwrap();
    let names = ["h0.test", "h1.test", "h2.test", "h3.test"];
    let starts = names
        .iter()
        .enumerate()
        .map(|(i, n)| url::Url::parse(&format!("http://{n}:{port}/h{i}/0")).unwrap())
        .collect();
    (site, starts, all_on(&names, "127.0.0.1"))
}

fn all_pages_once(site: &Site, records: &[PageRecord]) {
    for i in 0..4 {
        for j in 0..6 {
            assert_eq!(site.count(&format!("/h{i}/{j}")), 1, "{:?}", site.paths());
        }
    }
    assert_eq!(records.len(), 24);
    assert!(
        records.iter().all(|r| r.status == Some(200)),
        "{records:#?}"
    );
}

#[test]
fn hosts_on_one_ip_share_the_per_ip_budget() {
    solo::run(async {
        let (site, starts, resolver) = shared_server().await;
        let cfg = Config {
            per_host: 4,
            per_ip: Some(2),
            obey_robots: true,
            resolver: Some(resolver),
            ..quick()
        };
        let (_, records) = crawl_links(starts, cfg).await;
        all_pages_once(&site, &records);
        // robots.txt of each name, then the pages: never more than 2.
        assert_eq!(site.count("/robots.txt"), 4);
        assert!(
            site.max_concurrent.get() <= 2,
            "{}",
            site.max_concurrent.get()
        );
        assert_eq!(site.max_concurrent.get(), 2);
    });
}

#[test]
fn without_per_ip_the_per_host_limits_add_up() {
    solo::run(async {
        let (site, starts, resolver) = shared_server().await;
        let cfg = Config {
            per_host: 4,
            resolver: Some(resolver),
            ..quick()
        };
        let (_, records) = crawl_links(starts, cfg).await;
        all_pages_once(&site, &records);
        assert!(
            site.max_concurrent.get() > 2,
            "{}",
            site.max_concurrent.get()
        );
    });
}

#[test]
fn per_ip_zero_is_refused() {
    let cfg = Config {
        per_ip: Some(0),
        ..Config::default()
    };
    assert_eq!(
        cfg.validate().unwrap_err(),
        "Config::per_ip must be at least 1"
    );
}

/// Broad-audit defect 1: 200 dead domains (their name servers never
/// answer: a blocking stand-in for `getaddrinfo`, on solo's DNS threads
/// as the system resolver is) in a seed list with two live sites. The
/// live sites are crawled; each dead one fails on its own, as a DNS error
/// that says name resolution timed out.
#[test]
fn dead_domains_in_a_seed_list_cost_only_their_own_requests() {
    use std::sync::{Condvar, Mutex};
    use std::time::Duration;
    static GATE: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());
    fn lookup(name: &str) -> std::io::Result<Vec<IpAddr>> {
        if name.starts_with("dead") {
            let g = GATE.0.lock().unwrap();
            let _ = GATE
                .1
                .wait_timeout_while(g, Duration::from_secs(60), |open| !*open)
                .unwrap();
            return Err(std::io::Error::other(
                "Temporary failure in name resolution",
            ));
        }
        Ok(vec![[127, 0, 0, 1].into()])
    }
    solo::run(async {
        let (port, _) = site_seeing_hosts(|_, _| page("live", &[])).await;
        let mut seeds = vec![url::Url::parse(&format!("http://live1.test:{port}/")).unwrap()];
        for i in 0..200 {
            seeds.push(url::Url::parse(&format!("http://dead{i}.test:{port}/")).unwrap());
        }
        seeds.push(url::Url::parse(&format!("http://live2.test:{port}/")).unwrap());
        let cfg = Config {
            resolver: Some(Resolver::blocking(lookup)),
            timeout: Duration::from_secs(3),
            depth_limit: Some(0),
            ..quick()
        };
        let (summary, records) = crawl_links(seeds, cfg).await;
        for live in ["live1.test", "live2.test"] {
            let r = records.iter().find(|r| r.url.contains(live)).unwrap();
            assert_eq!(r.status, Some(200), "{r:?}");
        }
        let dead: Vec<_> = records.iter().filter(|r| r.url.contains("dead")).collect();
        assert_eq!(dead.len(), 200, "{summary}");
        for r in dead {
            let e = r.error.as_deref().unwrap_or_default();
            assert!(e.starts_with("dns: "), "{e}");
            assert!(e.contains("name resolution of 'dead"), "{e}");
            assert!(e.contains("timed out after"), "{e}");
        }
    });
    *GATE.0.lock().unwrap() = true;
    GATE.1.notify_all();
}
