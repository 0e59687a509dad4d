//! The adaptive throttle (`Config::autothrottle`, `--autothrottle`): it holds
//! a host near the target concurrency and backs off on 503 and 429.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use common::*;
use solo_crawl::demo_site::SiteResponse;
use solo_crawl::{AutoThrottle, Config};

/// `/` links to `/p0`..`/p39`; every page answers after 60 ms.
async fn slow_fan() -> Site {
    start(|path: String| async move {
        solo::sleep(Duration::from_millis(60)).await;
        if path == "/" {
            let links: Vec<String> = (0..40).map(|i| format!("/p{i}")).collect();
            let refs: Vec<&str> = links.iter().map(String::as_str).collect();
            page("root", &refs)
        } else {
            page(&path, &[])
        }
    })
    .await
}

#[test]
fn autothrottle_holds_a_host_near_the_target_concurrency() {
    solo::run(async {
        // Without the throttle the per-host limit is what binds.
        let site = slow_fan().await;
        let cfg = Config {
            per_host: 8,
            ..quick()
        };
        let (summary, _) = crawl_links(vec![site.base.clone()], cfg).await;
        assert_eq!(summary.counts.pages, 41);
        assert_eq!(site.max_concurrent.get(), 8);

        // With it (target 1): the pause follows the 60 ms latency, so about
        // one request is at the host at a time; the start pause (30 ms) lets
        // a few overlap before the first answers come back.
        let site = slow_fan().await;
        let cfg = Config {
            per_host: 8,
            autothrottle: Some(AutoThrottle {
                target_concurrency: 1.0,
                start_delay: Duration::from_millis(30),
                max_delay: Duration::from_secs(5),
            }),
            ..quick()
        };
        let (summary, records) = crawl_links(vec![site.base.clone()], cfg).await;
        assert_eq!(summary.counts.pages, 41);
        assert!(records.iter().all(|r| r.status == Some(200)));
        assert!(
            site.max_concurrent.get() <= 3,
            "{} requests at once",
            site.max_concurrent.get()
        );
    });
}

#[test]
fn autothrottle_doubles_the_pause_on_503() {
    solo::run(async {
        // The first three page requests get a 503 with no Retry-After.
        let refusals = Rc::new(Cell::new(0u32));
        let r = refusals.clone();
        let site = start(move |path: String| {
            let r = r.clone();
            async move {
                if path == "/" {
                    return page("root", &["/a", "/b", "/c"]);
                }
                if r.get() < 3 {
                    r.set(r.get() + 1);
                    return SiteResponse::status(503);
                }
                page(&path, &[])
            }
        })
        .await;
        let cfg = Config {
            per_host: 1,
            max_retries: 5,
            backoff_base: Duration::from_millis(1),
            autothrottle: Some(AutoThrottle {
                target_concurrency: 1.0,
                start_delay: Duration::from_millis(20),
                max_delay: Duration::from_secs(5),
            }),
            ..quick()
        };
        let (summary, records) = crawl_links(vec![site.base.clone()], cfg).await;
        assert_eq!(summary.counts.pages, 4);
        assert!(
            records.iter().all(|r| r.status == Some(200)),
            "{records:#?}"
        );
        assert_eq!(summary.counts.retries, 3);
        // The first answer (fast) halved the 20 ms start pause; each 503
        // then doubled it (at least to the 20 ms start): ~21, ~42, ~84 ms,
        // and the host waited that long after each.
        let hits = site.hits.borrow();
        let gaps: Vec<Duration> = hits.windows(2).map(|w| w[1].at - w[0].at).collect();
        // hits: /, 503, 503, 503, then the rest.
        assert!(gaps[1] >= Duration::from_millis(20), "{gaps:?}");
        assert!(gaps[2] >= Duration::from_millis(40), "{gaps:?}");
        assert!(gaps[3] >= Duration::from_millis(80), "{gaps:?}");
    });
}

/// `/` links to `/p0`..`/p59`. The server takes 4 requests at a time and
/// closes the connection on any more (load shedding, as an nginx out of
/// worker connections does); the count of shed requests goes to `shed`.
async fn shedding_site(shed: Rc<Cell<usize>>) -> Site {
    let busy = Rc::new(Cell::new(0usize));
    start(move |path: String| {
        let (busy, shed) = (busy.clone(), shed.clone());
        async move {
            if path == "/" {
                let links: Vec<String> = (0..60).map(|i| format!("/p{i}")).collect();
                let refs: Vec<&str> = links.iter().map(String::as_str).collect();
                return page("root", &refs);
            }
            if busy.get() >= 4 {
                shed.set(shed.get() + 1);
                return SiteResponse::raw(Vec::new());
            }
            busy.set(busy.get() + 1);
            solo::sleep(Duration::from_millis(20)).await;
            busy.set(busy.get() - 1);
            page(&path, &[])
        }
    })
    .await
}

#[test]
fn a_host_that_sheds_load_gets_fewer_requests_at_once() {
    solo::run(async {
        let cfg = |backoff: bool| Config {
            per_host: 16,
            max_retries: 4,
            overload_backoff: backoff,
            ..quick()
        };
        let shed_with = Rc::new(Cell::new(0));
        let site = shedding_site(shed_with.clone()).await;
        let (summary, records) = crawl_links(vec![site.base.clone()], cfg(true)).await;
        assert_eq!(summary.counts.pages, 61);
        let failed: Vec<_> = records.iter().filter(|r| r.status != Some(200)).collect();
        assert!(failed.is_empty(), "{failed:#?}");

        // The same crawl holding on to 16 at once: far more requests shed.
        let shed_without = Rc::new(Cell::new(0));
        let site = shedding_site(shed_without.clone()).await;
        let (summary, _) = crawl_links(vec![site.base.clone()], cfg(false)).await;
        assert_eq!(summary.counts.pages, 61);
        assert!(
            shed_without.get() > 2 * shed_with.get(),
            "shed {} with the backoff, {} without",
            shed_with.get(),
            shed_without.get()
        );
    });
}
