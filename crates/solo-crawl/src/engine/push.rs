//! Requests pushed into a running shared crawl from outside it.
//!
//! Owns: [`Crawler::push`] and its report, [`Pushed`] — scrapy-redis's
//! `LPUSH myspider:start_urls URL`, with the crawl's rules applied: each
//! request is checked against the crawl's scope (its spider's start
//! hosts, `allow_domains`, the allow/deny patterns), then goes to Redis
//! through the shared seen set like a link a worker found, and the
//! workers (waiting ones are woken) lease it. Must not: fetch anything,
//! widen the crawl's scope or networks (a pushed URL is a link, not a
//! start URL: it cannot open what the crawl's own start URLs did not),
//! or lease anything.

use std::rc::Rc;

use super::*;
use crate::redis_frontier::{queue_entry, Params};

/// Requests sent to Redis in one step at most.
const PUSH_BATCH: usize = 10_000;

/// What [`Crawler::push`] did with the requests it was given.
///
/// ```
/// let p = solo_crawl::Pushed::default();
/// assert_eq!((p.queued, p.seen, p.refused.len()), (0, 0, 0));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pushed {
    /// Queued in the crawl: not seen by it before (or `dont_filter`).
    pub queued: u64,
    /// Within the crawl's rules, but seen by it before (fetched, queued
    /// or pushed already): left out, as the crawl would leave out a link
    /// to it.
    pub seen: u64,
    /// Refused by the crawl's rules, each with its URL (a password in it
    /// masked) and why: `offsite` (the crawl's scope is its start hosts
    /// and `allow_domains`; a pushed `dont_filter` request is held to it
    /// too), `filtered` (the allow/deny patterns),
    /// `scheme` (not http or https), `bad_host` (a look-alike host name),
    /// `too_deep`, `max_pages` (the crawl's page budget is spent).
    pub refused: Vec<(String, &'static str)>,
}

impl<S: Spider, F: Fetch> Crawler<S, F> {
    /// Adds `requests` to the shared crawl this crawler's
    /// [`Config::frontier`] names (a [`FrontierBackend::Redis`]), for its
    /// workers to fetch, and returns at once: nothing is fetched here.
    ///
    /// The crawl must exist (started by `solo-crawl crawl --redis` or by a
    /// worker's first step). Each request passes the crawl's rules as a
    /// link would (this spider's [`start_requests`](Spider::start_requests)
    /// give the scope, with [`Config::allow_domains`] and the allow/deny
    /// patterns), then Redis's seen set: a URL the crawl has seen is not
    /// queued again unless the request is
    /// [`dont_filter`](Request::dont_filter). A crawl that had finished
    /// has work again; workers waiting for more
    /// ([`RedisFrontier::idle_timeout`](crate::RedisFrontier::idle_timeout)) are woken, and a finished
    /// crawl's workers must be started again. Requests that name a
    /// callback must name one the workers' spider knows.
    ///
    /// This is scrapy-redis's `RedisSpider` feed (`LPUSH
    /// myspider:start_urls URL`) with the crawl's rules applied; the
    /// command line's form is `solo-crawl push`.
    ///
    /// ```no_run
    /// use solo_crawl::{Config, Crawler, FrontierBackend, LinkCallback, LinkSpider};
    /// use solo_crawl::{RedisFrontier, Request};
    /// let start = url::Url::parse("https://example.com/").unwrap();
    /// let config = Config {
    ///     frontier: FrontierBackend::Redis(RedisFrontier::new("redis://127.0.0.1/0", "feed")),
    ///     ..Default::default()
    /// };
    /// let new = url::Url::parse("https://example.com/new").unwrap();
    /// let crawler = Crawler::new(LinkSpider::new(vec![start]), config);
    /// let pushed = solo::run(crawler.push(vec![Request::new(new, LinkCallback::Page)]))?;
    /// println!("{} queued, {} seen, {:?} refused", pushed.queued, pushed.seen, pushed.refused);
    /// # Ok::<(), solo_crawl::CrawlError>(())
    /// ```
    pub async fn push(self, requests: Vec<Request<S::Callback>>) -> Result<Pushed, CrawlError> {
        self.config.validate().map_err(CrawlError::Config)?;
        let FrontierBackend::Redis(r) = &self.config.frontier else {
            return Err(CrawlError::Config(
                "push adds requests to a crawl shared through Redis: set Config::frontier \
                 to FrontierBackend::Redis"
                    .into(),
            ));
        };
        let (url, id) = (r.url.clone(), r.crawl_id.clone());
        solo::to_thread(move || crate::redis_link::crawl_status(&url, &id).map(|_| ()))
            .await
            .map_err(CrawlError::Redis)?;
        let url = r.url.clone();
        let (link, _) = solo::to_thread(move || crate::redis_link::Link::open_to_crawl(&url))
            .await
            .map_err(CrawlError::Redis)?;

        // The crawl's rules as a worker has them: the shared frontier
        // keeps the page budget.
        let mut cfg = self.config.clone();
        cfg.max_pages = None;
        cfg.autothrottle = None;
        let mut frontier = Frontier::new(&cfg);
        frontier.set_remote();
        frontier.scope_dont_filter();
        // The scope as a worker has it: the start requests' hosts, and
        // those of the sitemaps it starts from (`--sitemap` alone).
        let starts = self.spider.start_requests();
        let sitemaps = crate::sitemap::start_requests(&self.config, &starts);
        for s in starts.iter().chain(&sitemaps) {
            frontier.add_start_host(&s.url);
        }
        let remote = Rc::new(Remote::default());
        let params = Params::of(&self.config, r.lease_timeout);
        let driver = solo::spawn(remote.clone().drive(
            link,
            crate::redis_link::prefix(&r.crawl_id),
            redis_frontier::worker_name(),
            params,
            Box::new(|_: &str, _: Option<&str>| {}),
            Box::new(|_| {}),
        ));

        let mut report = Pushed::default();
        let mut sent = 0;
        for (i, req) in requests.into_iter().enumerate() {
            if i > 0 && i % PUSH_BATCH == 0 {
                // A step per batch, not one step of a million adds.
                while !remote.flushed() && remote.fatal().is_none() {
                    solo::sleep(Duration::from_millis(1)).await;
                }
            }
            let shown = redact_url(&req.url);
            let pushed = frontier.push_with(req, false, |fp, req, _| {
                let fp = (!req.extras().dont_filter).then_some(fp);
                remote.add(fp, host_key(&req.url), queue_entry(req));
            });
            match pushed {
                Ok(_) => sent += 1,
                // Seen in this batch: the same URL twice.
                Err(Rejected::Seen) => report.seen += 1,
                Err(why) => report.refused.push((shown, why.as_str())),
            }
        }
        remote.close().await;
        let _ = driver.await;
        if let Some(e) = remote.fatal() {
            return Err(CrawlError::Redis(e));
        }
        report.queued = remote.added();
        report.seen += sent - report.queued.min(sent);
        Ok(report)
    }
}
