//! A crawl's limits besides `max_pages`: a time limit (Scrapy's
//! `CLOSESPIDER_TIMEOUT`) that stops gracefully and leaves a `--state`
//! crawl to resume, and an item count (`CLOSESPIDER_ITEMCOUNT`).

mod common;

use std::time::Duration;

use common::*;
use solo_crawl::demo_site::SiteResponse;
use solo_crawl::output::SharedBuf;
use solo_crawl::{
    Config, Crawler, ItemError, Output, OutputConfig, Pipeline, Pipelines, Request, Response,
    Spider, Target,
};

/// A chain of `n` pages, `/p/0` -> `/p/1` -> ..., each answered after
/// `slow`.
async fn chain(n: usize, slow: Duration) -> Site {
    start(move |path: String| async move {
        solo::sleep(slow).await;
        let i: usize = path
            .strip_prefix("/p/")
            .and_then(|i| i.parse().ok())
            .unwrap_or(0);
        let next = if i + 1 < n {
            format!("<a href=\"/p/{}\">next</a>", i + 1)
        } else {
            String::new()
        };
        SiteResponse::html(format!("<title>{i}</title>{next}"))
    })
    .await
}

/// Follows every link and emits an item per page.
struct Items(url::Url);

impl Spider for Items {
    type Callback = ();
    fn start_requests(&self) -> Vec<Request<()>> {
        vec![Request::new(self.0.clone(), ())]
    }
    async fn parse(&self, _: (), response: &Response, out: &mut Output<()>) {
        out.item(serde_json::json!({ "page": response.url().path() }));
        for l in response.links() {
            out.follow(Request::new(l.clone(), ()));
        }
    }
}

#[test]
fn a_time_limit_stops_gracefully_and_the_state_goes_on_from_there() {
    solo::run(async {
        let site = chain(30, Duration::from_millis(60)).await;
        let dir = fresh_dir("limits-max-time");
        let cfg = || Config {
            concurrency: 1,
            state_dir: Some(dir.clone()),
            ..quick()
        };
        let first = site.url("/p/0");
        let (s1, r1) = crawl_links(
            vec![first.clone()],
            Config {
                max_time: Some(Duration::from_millis(500)),
                ..cfg()
            },
        )
        .await;
        assert_eq!(s1.stopped_by.as_deref(), Some("max_time"));
        assert!(s1.interrupted);
        assert!(!r1.is_empty() && r1.len() < 30, "{} pages", r1.len());
        assert!(s1.to_string().contains("stopped by max_time"), "{s1}");
        // The same crawl again, without the limit: it goes on.
        let (s2, r2) = crawl_links(vec![first], cfg()).await;
        assert!(s2.resumed && !s2.interrupted && s2.stopped_by.is_none());
        assert_eq!(r1.len() + r2.len(), 30);
        for i in 0..30 {
            assert_eq!(site.count(&format!("/p/{i}")), 1, "/p/{i}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn an_item_count_stops_the_crawl() {
    solo::run(async {
        let site = chain(20, Duration::ZERO).await;
        let items = SharedBuf::default();
        let out = OutputConfig {
            pages: Target::Discard,
            items: Target::Buffer(items.clone()),
            ..Default::default()
        };
        let cfg = Config {
            concurrency: 1,
            max_items: Some(5),
            ..quick()
        };
        let summary = Crawler::new(Items(site.url("/p/0")), cfg)
            .output(out)
            .run()
            .await
            .unwrap();
        assert_eq!(summary.stopped_by.as_deref(), Some("max_items"));
        // One request at a time: the fifth page's items stop it.
        assert_eq!(summary.counts.items, 5);
        assert_eq!(items.lock().unwrap().split(|b| *b == b'\n').count() - 1, 5);
        assert_eq!(site.count("/p/5"), 0);
        // A time limit out of range is refused before anything is fetched.
        let e = Crawler::new(
            Items(site.url("/p/0")),
            Config {
                max_time: Some(Duration::ZERO),
                ..quick()
            },
        )
        .run()
        .await
        .unwrap_err();
        assert!(e.to_string().contains("max_time"), "{e}");
    });
}

/// A slow stage (as a database committing in batches) that drops the
/// items of odd pages when asked to.
struct SlowStage {
    drop_odd: bool,
}

impl Pipeline for SlowStage {
    async fn process(&self, item: serde_json::Value) -> Result<serde_json::Value, ItemError> {
        solo::sleep(Duration::from_millis(40)).await;
        let page: usize = item["page"].as_str().unwrap()[3..].parse().unwrap();
        if self.drop_odd && page % 2 == 1 {
            return Err(ItemError::dropped("odd"));
        }
        Ok(item)
    }
}

/// With pipelines, the items still inside them count: no page is fetched
/// while they may make up the limit (the crawl went on fetching while a
/// slow stage held them); items they drop do not count.
#[test]
fn an_item_count_with_pipelines_counts_the_items_inside_them() {
    for drop_odd in [false, true] {
        solo::run(async {
            let site = chain(40, Duration::ZERO).await;
            let cfg = Config {
                concurrency: 1,
                max_items: Some(5),
                ..quick()
            };
            let summary = Crawler::new(Items(site.url("/p/0")), cfg)
                .output(OutputConfig {
                    pages: Target::Discard,
                    ..Default::default()
                })
                .pipelines(Pipelines::new().stage(SlowStage { drop_odd }))
                .run()
                .await
                .unwrap();
            assert_eq!(summary.stopped_by.as_deref(), Some("max_items"));
            assert_eq!(summary.counts.items_kept, 5, "drop_odd {drop_odd}");
            // One request at a time, one item a page: the page that
            // makes the fifth kept item is the last one fetched.
            let last = if drop_odd { 8 } else { 4 };
            assert_eq!(summary.counts.pages, last + 1, "drop_odd {drop_odd}");
            assert_eq!(site.count(&format!("/p/{}", last + 1)), 0);
        });
    }
}
