//! The crawl's address guard and its secrets. Everything stays in
//! 127.0.0.0/8: the crawl starts at 127.0.0.1, and 127.0.0.2 stands for
//! the private network it must not reach (`deny_networks`), watched by a
//! listener that must never see a connection. Names come from a test
//! resolver, so no query leaves the machine.

mod common;

use std::cell::Cell;
use std::net::IpAddr;
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

use common::{crawl_links, page, quick, start, start_with, Site};
use solo_crawl::demo_site::{Framing, SiteResponse};
use solo_crawl::{Config, PageRecord};
use solo_http::{Resolver, Resolving};

/// A listener on 127.0.0.2 that must see no connection.
struct Trap(std::net::TcpListener);

impl Trap {
    fn new() -> Trap {
        let l = std::net::TcpListener::bind("127.0.0.2:0").expect("127.0.0.2 is loopback on Linux");
        l.set_nonblocking(true).unwrap();
        Trap(l)
    }

    fn port(&self) -> u16 {
        self.0.local_addr().unwrap().port()
    }

    /// Whether anything connected (completed handshakes wait in the
    /// backlog, so this sees every connection made so far).
    fn was_reached(&self) -> bool {
        self.0.accept().is_ok()
    }
}

/// A resolver from a fixed table; unknown names fail.
fn table(entries: &[(&'static str, &str)]) -> Resolver {
    Resolver::hosts(entries.iter().map(|(n, ip)| (*n, ip.parse().unwrap())))
}

/// The crawl's settings: 127.0.0.2 denied, any host followed, robots.txt
/// obeyed (its fetches go through the guard too).
fn guarded(resolver: Resolver) -> Config {
    Config {
        deny_networks: vec!["127.0.0.2/32".parse().unwrap()],
        stay_on_start_hosts: false,
        obey_robots: true,
        resolver: Some(resolver),
        ..quick()
    }
}

fn blocked(records: &[PageRecord]) -> Vec<&PageRecord> {
    records
        .iter()
        .filter(|r| {
            r.error
                .as_deref()
                .is_some_and(|e| e.starts_with("blocked_address"))
        })
        .collect()
}

#[test]
fn links_and_redirects_into_a_denied_network_are_recorded_as_blocked() {
    solo::run(async {
        let trap = Trap::new();
        let port = trap.port();
        let site = start(move |path: String| async move {
            match path.as_str() {
                "/" => page("home", &[&format!("http://evil.test:{port}/x"), "/go"]),
                "/go" => SiteResponse::redirect(302, &format!("http://127.0.0.2:{port}/y")),
                _ => SiteResponse::status(404),
            }
        })
        .await;
        let cfg = guarded(table(&[("evil.test", "127.0.0.2")]));
        let (summary, records) = crawl_links(vec![site.url("/")], cfg).await;
        let refused = blocked(&records);
        assert_eq!(refused.len(), 2, "{records:#?}");
        for r in &refused {
            let e = r.error.as_deref().unwrap();
            assert!(
                e.contains("127.0.0.2 is in 127.0.0.2/32 (denied by a rule)"),
                "{e}"
            );
        }
        assert!(refused.iter().any(|r| r.url.contains("evil.test")));
        assert_eq!(summary.counts.errors.get("blocked_address"), Some(&2));
        // Never retried (quick() allows 2 retries).
        assert_eq!(summary.counts.retries, 0);
        assert!(summary.to_string().contains("blocked_address"), "{summary}");
        assert!(!trap.was_reached());
        // The start URL's own network (127.0.0.0/8) stayed open.
        assert_eq!(site.count("/"), 1);
    });
}

/// A server on 127.0.0.1:`port` that closes every connection after one
/// answer (so each request resolves the name again).
async fn site_on(port: u16, links: Vec<String>) -> Option<Site> {
    let l = solo::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .ok()?;
    Some(start_with(l, move |path: String| {
        let links = links.clone();
        async move {
            let r = match path.as_str() {
                "/" => {
                    let links: Vec<&str> = links.iter().map(String::as_str).collect();
                    page("home", &links)
                }
                "/a" | "/b" => page("rebound", &[]),
                _ => SiteResponse::status(404),
            };
            r.with_framing(Framing::Close)
        }
    }))
}

#[test]
fn a_name_that_re_resolves_into_a_denied_network_is_blocked() {
    solo::run(async {
        // The site on 127.0.0.1 and the trap on 127.0.0.2 share a port:
        // only the resolver's answer tells them apart.
        let (trap, site) = loop {
            let trap = Trap::new();
            let port = trap.port();
            let links = vec![
                format!("http://rebind.test:{port}/a"),
                format!("http://rebind.test:{port}/b"),
            ];
            if let Some(site) = site_on(port, links).await {
                break (trap, site);
            }
        };
        let lookups = Rc::new(Cell::new(0));
        let n = lookups.clone();
        let rebinding = Resolver::new(move |_: &str| -> Resolving {
            n.set(n.get() + 1);
            let ip: IpAddr = match n.get() {
                1 => [127, 0, 0, 1],
                _ => [127, 0, 0, 2],
            }
            .into();
            Box::pin(async move { Ok(vec![ip]) })
        });
        let cfg = Config {
            obey_robots: false,
            ..guarded(rebinding)
        };
        let (summary, records) = crawl_links(vec![site.url("/")], cfg).await;
        // One of /a and /b got the first answer and was fetched; the
        // other, on a new connection, got 127.0.0.2 and was refused.
        assert_eq!(lookups.get(), 2);
        assert_eq!(site.count("/a") + site.count("/b"), 1, "{:?}", site.paths());
        let refused = blocked(&records);
        assert_eq!(refused.len(), 1, "{records:#?}");
        assert!(refused[0].url.contains("rebind.test"));
        assert_eq!(summary.counts.errors.get("blocked_address"), Some(&1));
        assert!(!trap.was_reached());
    });
}

#[test]
fn without_a_rule_the_start_urls_network_is_the_only_private_one_allowed() {
    solo::run(async {
        let site = start(|path: String| async move {
            match path.as_str() {
                "/" => page(
                    "home",
                    &["http://metadata.test/latest", "http://intranet.test/"],
                ),
                _ => SiteResponse::status(404),
            }
        })
        .await;
        // The names point at link-local and private addresses; the guard
        // refuses them before any connection is tried.
        let cfg = Config {
            stay_on_start_hosts: false,
            resolver: Some(table(&[
                ("metadata.test", "169.254.169.254"),
                ("intranet.test", "10.0.0.5"),
            ])),
            ..quick()
        };
        let (_, records) = crawl_links(vec![site.url("/")], cfg).await;
        let refused = blocked(&records);
        assert_eq!(refused.len(), 2, "{records:#?}");
        let errors: Vec<&str> = refused
            .iter()
            .map(|r| r.error.as_deref().unwrap())
            .collect();
        assert!(
            errors
                .iter()
                .any(|e| e.contains("169.254.169.254 is in 169.254.0.0/16")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("10.0.0.5 is in 10.0.0.0/8")),
            "{errors:?}"
        );
        assert_eq!(site.count("/"), 1);
    });
}

#[test]
fn credentials_in_the_start_url_stay_out_of_records_stats_and_referers() {
    solo::run(async {
        let trap = Trap::new();
        let port = trap.port();
        let site = start(move |path: String| async move {
            match path.as_str() {
                "/" => page(
                    "home",
                    &[
                        "/a#section",
                        "/missing",
                        "/r",
                        &format!("http://127.0.0.2:{port}/"),
                    ],
                ),
                "/a" => page("a", &["/"]),
                "/b" => page("b", &[]),
                "/r" => SiteResponse::redirect(302, "/b"),
                _ => SiteResponse::status(404),
            }
        })
        .await;
        let mut start_url = site.url("/");
        start_url.set_username("alice").unwrap();
        start_url.set_password(Some("s3cret")).unwrap();
        let cfg = Config {
            deny_networks: vec!["127.0.0.2/32".parse().unwrap()],
            stay_on_start_hosts: false,
            max_retries: 0,
            ..quick()
        };
        let (summary, records) = crawl_links(vec![start_url], cfg).await;
        assert_eq!(records.len(), 6, "{records:#?}");
        // The redirect's chain is redacted too.
        let b = common::record(&records, "/b");
        assert!(b.redirected_from[0].contains("alice:***@"), "{b:?}");
        let text = serde_json::to_string(&records).unwrap()
            + &summary.to_string()
            + &format!("{summary:?}");
        // "alice:s3cret" in base64, as an Authorization header carries it.
        for secret in ["s3cret", "YWxpY2U6czNjcmV0"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        let home = common::record(&records, "/");
        assert_eq!(
            home.url,
            format!("http://alice:***@127.0.0.1:{}/", site.base.port().unwrap())
        );
        assert_eq!(home.final_url.as_deref(), Some(home.url.as_str()));
        assert_eq!(
            common::record(&records, "/a").referer.as_deref(),
            Some(home.url.as_str())
        );
        assert!(blocked(&records)[0]
            .error
            .as_deref()
            .unwrap()
            .contains("127.0.0.2"));
        // What the server was told: no userinfo and no fragment in Referer.
        for hit in site.hits.borrow().iter() {
            if let Some(r) = &hit.referer {
                assert_eq!(
                    r,
                    &format!("http://127.0.0.1:{}/", site.base.port().unwrap())
                );
            }
        }
        assert!(site.hits.borrow().iter().any(|h| h.referer.is_some()));
        // The credentials did their job: sent as Authorization to the
        // start page and to the pages linked from it on the same origin.
        // (A redirect's target is fetched without them: see the redirect
        // module.)
        for hit in site.hits.borrow().iter().filter(|h| h.path != "/b") {
            assert_eq!(
                hit.authorization.as_deref(),
                Some("Basic YWxpY2U6czNjcmV0"),
                "{}",
                hit.path
            );
        }
        assert_eq!(site.count("/a"), 1);
        assert!(!trap.was_reached());
    });
}

#[test]
fn the_command_line_guard_and_redaction() {
    solo::run(async {
        let trap = Trap::new();
        let port = trap.port();
        let site = start(move |path: String| async move {
            match path.as_str() {
                "/" => page("home", &["/go", &format!("http://127.0.0.2:{port}/x")]),
                "/go" => SiteResponse::redirect(302, &format!("http://127.0.0.2:{port}/y")),
                _ => SiteResponse::status(404),
            }
        })
        .await;
        let mut url = site.url("/");
        url.set_username("alice").unwrap();
        url.set_password(Some("s3cret")).unwrap();
        let out = solo::to_thread(move || {
            Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
                .args([
                    "crawl",
                    url.as_str(),
                    "--depth",
                    "1",
                    "--allow-domain",
                    "127.0.0.2",
                    "--deny-network",
                    "127.0.0.2",
                ])
                .output()
                .unwrap()
        });
        let out = solo::timeout(Duration::from_secs(60), out).await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert_eq!(
            stdout.matches("blocked_address").count(),
            2,
            "{stdout}{stderr}"
        );
        assert!(stderr.contains("blocked_address"), "{stderr}");
        assert!(
            !stdout.contains("s3cret") && !stderr.contains("s3cret"),
            "{stdout}{stderr}"
        );
        assert!(stdout.contains("alice:***@"), "{stdout}");
        assert!(!trap.was_reached());
    });
}

#[test]
fn a_bad_network_is_a_usage_error_naming_the_option() {
    let out = Command::new(env!("CARGO_BIN_EXE_solo-crawl"))
        .args([
            "crawl",
            "http://127.0.0.1:1/",
            "--allow-network",
            "10.0.0.0/33",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--allow-network") && stderr.contains("10.0.0.0/33"),
        "{stderr}"
    );
}

/// A start host's DNS answers open only networks where sites live: a
/// name that also answered 0.0.0.0 (or 169.254.169.254, the cloud
/// metadata service) opened that whole network for the crawl, so a link
/// to http://0.0.0.0:PORT/ reached the local host.
#[test]
fn a_start_hosts_dns_answer_does_not_open_this_network_or_link_local() {
    solo::run(async {
        let zero = Rc::new(std::cell::RefCell::new(String::new()));
        let z = zero.clone();
        let site = start(move |path: String| {
            let z = z.borrow().clone();
            async move {
                match path.as_str() {
                    "/" => page("home", &[&z]),
                    _ => SiteResponse::status(404),
                }
            }
        })
        .await;
        let port = site.base.port().unwrap();
        *zero.borrow_mut() = format!("http://0.0.0.0:{port}/zero");
        let cfg = Config {
            stay_on_start_hosts: false,
            obey_robots: false,
            resolver: Some(Resolver::new(|_: &str| -> Resolving {
                let ips: Vec<IpAddr> = ["127.0.0.1", "0.0.0.0", "169.254.169.254"]
                    .iter()
                    .map(|a| a.parse().unwrap())
                    .collect();
                Box::pin(async move { Ok(ips) })
            })),
            ..quick()
        };
        let start_url = url::Url::parse(&format!("http://start.test:{port}/")).unwrap();
        let (_, records) = crawl_links(vec![start_url], cfg).await;
        let refused = blocked(&records);
        assert_eq!(refused.len(), 1, "{records:#?}");
        assert!(refused[0].url.contains("0.0.0.0"), "{records:#?}");
        let e = refused[0].error.as_deref().unwrap();
        assert!(e.contains("0.0.0.0/8"), "{e}");
        assert_eq!(site.count("/zero"), 0);
        assert_eq!(site.count("/"), 1, "the start host's loopback stays open");
    });
}

#[test]
fn a_start_name_opens_its_own_addresses_not_their_network() {
    solo::run(async {
        // The seed "wiki.test" resolves to 127.0.0.1 only; its page links
        // to another loopback address (127.0.0.2 stands for the rest of
        // the private network: another service on the same network).
        let trap = Trap::new();
        let other = format!("http://127.0.0.2:{}/secret", trap.port());
        let site = start(move |path: String| {
            let other = other.clone();
            async move {
                match path.as_str() {
                    "/" => page("wiki", &[&other, "/next"]),
                    "/next" => page("next", &[]),
                    _ => SiteResponse::status(404),
                }
            }
        })
        .await;
        let port = site.base.port().unwrap();
        let cfg = Config {
            stay_on_start_hosts: false,
            obey_robots: false,
            resolver: Some(table(&[("wiki.test", "127.0.0.1")])),
            ..quick()
        };
        let start_url = url::Url::parse(&format!("http://wiki.test:{port}/")).unwrap();
        let (_, records) = crawl_links(vec![start_url], cfg).await;
        // Before: the seed's answer opened 127.0.0.0/8 to every link.
        assert!(!trap.was_reached(), "127.0.0.2 was reached: {records:#?}");
        let refused = blocked(&records);
        assert_eq!(refused.len(), 1, "{records:#?}");
        assert!(
            refused[0].error.as_deref().unwrap().contains("127.0.0.2"),
            "{records:#?}"
        );
        assert_eq!(site.count("/next"), 1, "the seed's own address stays open");
    });
}

/// A deny rule wins over the start URLs' networks, even where those are
/// more specific (a start name's own address, /32; a typed address's
/// /8), and a rule written in IPv4-mapped form denies its IPv4 network.
/// Before, `--deny-network 127.0.0.0/8` with a start name on 127.0.0.1,
/// or `--deny-network 0.0.0.0/0` with a start address, crawled the site,
/// and `::ffff:127.0.0.1` matched nothing (the security audit's 1 and 4).
#[test]
fn deny_rules_win_over_the_start_urls_networks_in_any_form() {
    solo::run(async {
        let site = start(|path: String| async move {
            match path.as_str() {
                "/" => page("home", &["/next"]),
                "/next" => page("next", &[]),
                _ => SiteResponse::status(404),
            }
        })
        .await;
        let port = site.base.port().unwrap();
        let named = url::Url::parse(&format!("http://wiki.test:{port}/")).unwrap();
        let typed = site.url("/");
        let cases: [(&url::Url, &str, bool); 5] = [
            (&named, "127.0.0.0/8", false),
            (&typed, "0.0.0.0/0", false),
            (&typed, "127.0.0.0/7", false),
            (&typed, "::ffff:127.0.0.1/128", false),
            (&typed, "::ffff:0:0/96", true),
        ];
        for (start_url, deny, allow_private) in cases {
            let cfg = Config {
                deny_networks: vec![deny.parse().unwrap()],
                allow_private_networks: allow_private,
                obey_robots: false,
                resolver: Some(table(&[("wiki.test", "127.0.0.1")])),
                ..quick()
            };
            let (_, records) = crawl_links(vec![start_url.clone()], cfg).await;
            assert_eq!(blocked(&records).len(), 1, "{deny}: {records:#?}");
        }
        assert_eq!(site.count("/"), 0, "a denied network was reached");
        // An allow rule more specific than the deny still opens its part.
        let cfg = Config {
            deny_networks: vec!["0.0.0.0/0".parse().unwrap()],
            allow_networks: vec!["127.0.0.1/32".parse().unwrap()],
            obey_robots: false,
            ..quick()
        };
        let (_, records) = crawl_links(vec![typed.clone()], cfg).await;
        assert!(blocked(&records).is_empty(), "{records:#?}");
        assert_eq!(site.count("/next"), 1);
    });
}
