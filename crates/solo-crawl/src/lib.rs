//! # solo-crawl — a web crawler on one thread
//!
//! Scrapy's architecture on [`solo`]'s event loop: a [`Spider`] says where
//! to start and what to make of each [`Response`]; the frontier decides
//! what to fetch next (dedup, depth, scope, politeness, robots.txt); the
//! engine fetches concurrently, retries, sends redirects back to the
//! frontier as new requests (as Scrapy does), and writes a
//! [`PageRecord`] per page plus the spider's items as JSON Lines or CSV.
//! Data flows one way:
//!
//! ```text
//! frontier ──job──▶ downloader (fetch) ──response──▶ spider.parse ──items──▶ output
//!    ▲                        │ 3xx (redirect)             │
//!    └──── new requests ◀─────┴────────────────────────────┘
//! ```
//!
//! | module | owns |
//! |---|---|
//! | [`request`] | [`Request`]: URL, callback, depth, meta, priority, retries, referer, redirect chain |
//! | [`canon`] | URL canonicalization and fingerprints |
//! | [`frontier`] | the scheduler: dedup, depth, scope, per-host queues and limits |
//! | [`robots`] | robots.txt rules |
//! | [`redirect`] | a 3xx answer → the next request, or why not (limits, loops) |
//! | [`throttle`] | [`AutoThrottle`]: a per-host pause that follows latency and 429/503 |
//! | [`links`] | charset decoding, the page scan: links (rel=nofollow marked), title, canonical, robots meta, refresh |
//! | [`directives`] | what a page says about crawling it: robots meta, `X-Robots-Tag`, meta refresh |
//! | [`sitemap`] | robots.txt `Sitemap:` lines, sitemap indexes and urlsets (gzip too), bounds, `sitemap_rules` |
//! | [`response`] | [`Response`] and its lazily parsed views, CSS selection |
//! | [`spider`] | the [`Spider`] trait, [`Output`], [`LinkSpider`] |
//! | [`fetch`] | the [`Fetch`](fetch::Fetch) seam, on [`solo_http::Client`] (http and https, keep-alive) |
//! | [`engine`] | [`Crawler`]: the loop, retries, stopping |
//! | [`output`] | page records and items as JSON Lines or CSV |
//! | [`stats`] | counters, latency and loop-lag percentiles, progress |
//! | `store` | `--state`: the frontier, seen set and progress in SQLite, for resuming; one crawl per directory (a lock) |
//! | `checkpoint` | output files and state committed in step: each record written once across kills |
//! | [`config`] | [`Config`]: every knob and its default |
//! | [`demo_site`] | a synthetic site to crawl with no network |
//!
//! ```
//! use solo_crawl::{demo_site::DemoSite, Config, Crawler, LinkSpider};
//! let site = DemoSite::start(300).unwrap();
//! let spider = LinkSpider::new(vec![site.url()]);
//! let summary = solo::run(Crawler::new(spider, Config::default()).run()).unwrap();
//! assert_eq!(summary.counts.pages as usize, solo_crawl::demo_site::demo_reachable(300).len());
//! println!("{summary}");
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod canon;
mod checkpoint;
pub mod config;
pub mod demo_site;
pub mod directives;
pub mod engine;
pub mod fetch;
pub mod frontier;
pub mod links;
pub mod output;
pub mod redirect;
pub mod request;
pub mod response;
pub mod robots;
mod sink;
pub mod sitemap;
pub mod spider;
pub mod stats;
mod store;
pub mod throttle;

pub use config::Config;
pub use engine::{CrawlError, Crawler, StopHandle};
pub use output::{Format, OutputConfig, PageRecord, Target};
pub use request::Request;
pub use response::Response;
pub use spider::{Failure, LinkCallback, LinkSpider, Output, Spider};
pub use stats::Summary;
pub use throttle::AutoThrottle;

/// The snippets of `docs/scrapy-to-solo-crawl.md`, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/scrapy-to-solo-crawl.md")]
mod scrapy_guide_doctests {}
