//! A downloader middleware (Scrapy's `DOWNLOADER_MIDDLEWARES`): a
//! fetcher wrapped around the crawl's own client sees every request and
//! answer, and the crawl's rules stay around it.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::*;
use solo_crawl::fetch::{Fetch, FetchError, FetchRequest, Fetched};
use solo_crawl::{Config, Crawler, LinkSpider};

/// Adds a header to each request and notes each answer's status.
struct Tagging<F> {
    inner: F,
    statuses: Rc<RefCell<Vec<(String, u16)>>>,
}

impl<F: Fetch> Fetch for Tagging<F> {
    async fn fetch(&self, req: &FetchRequest) -> Result<Fetched, FetchError> {
        let mut req = req.clone();
        req.headers
            .push(("Authorization".into(), format!("Tag {}", req.url.path())));
        let answer = self.inner.fetch(&req).await;
        if let Ok(f) = &answer {
            self.statuses
                .borrow_mut()
                .push((req.url.path().to_owned(), f.status));
        }
        answer
    }
}

#[test]
fn a_wrapped_fetcher_sees_every_request_and_answer() {
    solo::run(async {
        let site = start(routes(vec![
            ("/", page("root", &["/a", "/gone", "/moved"])),
            ("/a", page("a", &[])),
            (
                "/moved",
                solo_crawl::demo_site::SiteResponse::redirect(301, "/a?from=moved"),
            ),
            ("/a?from=moved", page("a2", &[])),
        ]))
        .await;
        let statuses = Rc::new(RefCell::new(Vec::new()));
        let seen = statuses.clone();
        let cfg = Config {
            obey_robots: true,
            ..quick()
        };
        let summary = Crawler::new(LinkSpider::new(vec![site.base.clone()]), cfg)
            .wrap_fetcher(move |inner| Tagging {
                inner,
                statuses: seen,
            })
            .run()
            .await
            .unwrap();
        // robots.txt, the pages, the 404 and the redirect's hop: each
        // exchange went through the middleware, with its header.
        let mut got = statuses.borrow().clone();
        got.sort();
        assert_eq!(
            got,
            [
                ("/".to_owned(), 200),
                ("/a".to_owned(), 200),
                ("/a".to_owned(), 200),
                ("/gone".to_owned(), 404),
                ("/moved".to_owned(), 301),
                ("/robots.txt".to_owned(), 404),
            ]
        );
        for p in ["/", "/a", "/gone", "/moved", "/robots.txt"] {
            assert_eq!(site.count(p), 1, "{p}");
        }
        assert_eq!(summary.counts.pages, 5);
        // The crawl's redirect rule is still the crawl's: the hop to
        // /a?from=moved came back through the frontier and the wrapper.
        assert_eq!(site.count("/a?from=moved"), 1);
        for h in site.hits.borrow().iter() {
            let tag = format!("Tag {}", h.path.split('?').next().unwrap_or(""));
            assert_eq!(h.authorization.as_deref(), Some(tag.as_str()), "{}", h.path);
        }
    });
}
