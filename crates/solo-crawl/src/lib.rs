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
//! frontier ──job──▶ downloader (fetch) ──response──▶ spider.parse ──items──▶ pipeline ──▶ output
//!    ▲                        │ 3xx (redirect)             │
//!    └──── new requests ◀─────┴────────────────────────────┘
//! ```
//!
//! What a spider author and an embedder use is at the crate root —
//! [`Crawler`], [`Config`], [`Spider`], [`Request`], [`Response`],
//! [`Output`], [`PageRecord`], [`Summary`], [`CrawlError`],
//! [`FormRequest`], [`StopHandle`], [`AutoThrottle`], [`SitemapRules`],
//! [`CrawlRules`], [`Rule`], [`LinkExtractor`],
//! [`Selector`] and [`SelectorList`] (XPath and CSS, Scrapy's `get` /
//! `getall`) —
//! and in these
//! modules:
//!
//! | module | owns |
//! |---|---|
//! | [`fetch`] | the [`Fetch`](fetch::Fetch) seam, on [`solo_http::Client`] (http and https, keep-alive); implement it to fetch another way |
//! | [`output`] | page records and items as JSON Lines or CSV |
//! | [`pipeline`] | item pipelines: ordered async stages, drop/fail, items in flight bounded, keys a stage keeps with `--state` |
//! | [`stages`] | stages that ship: drop duplicates, required fields, typed items |
//! | [`offloop`] | a stage that writes on a thread of its own, in batches |
//! | [`sqlite_sink`] | items as rows of a SQLite table |
//! | [`export`] | item feeds: JSON Lines, CSV, JSON array; a file per item type (a CSV feed's file in `csv_feed`) |
//! | [`settings`] | the `solo-crawl crawl` options as one type: flags, TOML config file, the settings compared on resume |
//! | [`logs`] | `--log-level`, `--log-format`, `--log-file`: the subscriber, and log lines that do not garble the progress line |
//! | [`demo_site`] | a synthetic site to crawl with no network |
//! | [`login_site`] | a synthetic site behind a login form, and a JSON API |
//! | [`idn`] | international host names: the look-alike check, URLs shown with a Unicode host |
//! | [`recrawl`] | `--recrawl`: a new pass over a finished crawl that asks each server "changed since?" |
//! | [`warc`] | `--warc`: every exchange as WARC/1.1 records (revisits, roll-over, gzip members) |
//!
//! Inside (private modules, for whoever changes the crate):
//!
//! | module | owns |
//! |---|---|
//! | `request` | [`Request`]: URL, callback, depth, meta, priority, retries, referer, and out of line ([`RequestExtras`]) method, headers, body, timeout, `dont_filter`, cookie jar, redirect chain |
//! | `form` | [`FormRequest`]: a request from a `<form>` on a page |
//! | `session` | the crawl's cookie jars (sessions) |
//! | `canon` | URL canonicalization and fingerprints |
//! | `frontier` | the scheduler: its state here; the rules a request passes to be queued (`admit`: depth, scope, allow/deny, seen set), which job goes next (`dispatch`: per-host queues, slots, delays, robots.txt first), the state store's side (`spill`) |
//! | `redis_frontier` | `--redis`: a crawl shared by many workers, its frontier in Redis (the outbox, one atomic step per round trip in `step`, the task that trades it in `drive`, shared robots.txt answers) |
//! | `redis_link` | the blocking connection to that Redis (on a helper thread; TLS, cluster), what is wrong with it said in one sentence, the frontier script |
//! | `redis_server` | what a worker checks of that Redis server (version, role, `maxmemory-policy`) |
//! | `redis_delete` | `solo-crawl delete`: removing a shared crawl from its Redis |
//! | `per_ip` | `--per-ip`: hosts grouped by IP address, one budget per address |
//! | `robots` | robots.txt rules |
//! | `redirect` | a 3xx answer → the next request, or why not (limits, loops) |
//! | `secrets` | the `Referer` policy; URL credentials masked in output |
//! | `throttle` | [`AutoThrottle`]: a per-host pause that follows latency and 429/503 |
//! | `requisites` | `--page-requisites`: what a page needs to be displayed (images, styles, scripts) |
//! | `start_scope` | the networks a crawl's start URLs open in the address guard |
//! | `links` | charset decoding, the page scan ([`PageScan`]): links (rel=nofollow marked), title, canonical, robots meta, refresh |
//! | `html_tokens` | the HTML tokenizer the page scan streams through (WHATWG rules, no tree) |
//! | `directives` | what a page says about crawling it: robots meta, `X-Robots-Tag`, meta refresh |
//! | `sitemap` | robots.txt `Sitemap:` lines, sitemap indexes and urlsets (gzip too), bounds, [`SitemapRules`] |
//! | `response` | [`Response`] and its lazily parsed views, CSS selection |
//! | `css` | CSS selectors as spiders and the form helper write them |
//! | `selector` | [`Selector`], [`SelectorList`]: XPath 1.0 and CSS as Scrapy's selectors, `get`/`getall`; the DOM seen as an XPath tree; XML bodies (feeds, sitemaps) as a DOM |
//! | `spider` | the [`Spider`] trait, [`Output`], [`LinkSpider`] |
//! | `link_extractor` | [`LinkExtractor`]: a page's links chosen by pattern, domain, extension, region, text |
//! | `crawl_rules` | [`CrawlRules`] and [`Rule`]: Scrapy's `CrawlSpider` rules, links to callbacks |
//! | `budget` | [`BodyBudget`](fetch::BodyBudget): the bytes of bodies held at once, over all downloads |
//! | `deadline` | a request's timeout that does not count the loop's stalls |
//! | `engine` | [`Crawler`]: the loop, retries, stopping |
//! | `stats` | counters, latency and loop-lag percentiles, progress |
//! | `store` | `--state`: the frontier, seen set and progress in SQLite, for resuming; one crawl per directory (`lock`); the index of WARC records for revisits (`warc_index`) |
//! | `sink` | the writer thread: every record, item, WARC record and state commit goes through it |
//! | `checkpoint` | output files and state committed in step: each record written once across kills |
//! | `config` | [`Config`]: every knob and its default |
//! | `sorted_keys` | JSON text whose identity does not depend on the order a value was built in |
//! | `test_rng` | reproducible test inputs without a dependency |
//! | `metrics` | `--metrics`: the statistics in Prometheus text format at `GET /metrics`, on the crawl's loop |
//!
//! ```
//! use solo_crawl::{demo_site::DemoSite, Config, Crawler, LinkSpider};
//! let site = DemoSite::start(300).unwrap();
//! let spider = LinkSpider::new(vec![site.url()]);
//! let summary = solo::run(Crawler::new(spider, Config::default()).run()).unwrap();
//! assert_eq!(summary.counts.pages as usize, solo_crawl::demo_site::demo_reachable(300).len());
//! println!("{summary}");
//! ```

//! ## Security
//!
//! A crawler fetches URLs that strangers write; in a cloud or an office
//! network, one link, redirect or DNS answer pointing at
//! `169.254.169.254` (cloud metadata) or `10.0.0.5` would turn it into a
//! proxy into private networks (server-side request forgery). By default
//! a crawl refuses loopback, private, link-local, carrier-grade NAT,
//! multicast and other non-public addresses (IPv4-mapped, 6to4 and NAT64
//! forms included), **except where its start URLs are** (a start URL
//! typed as an address opens its network, a start host name its own
//! non-public answers, each address alone), so crawling `127.0.0.1` or
//! an intranet host needs no setting. The check is
//! solo-http's [`AddressPolicy`](solo_http::AddressPolicy), run on each
//! address actually connected to, after DNS, for pages, redirects and
//! robots.txt alike; a refused page is recorded with the error kind
//! `blocked_address` (address and rule in the message), counted, and never
//! retried. [`Config::allow_networks`], [`Config::deny_networks`] and
//! [`Config::allow_private_networks`] adjust it (`--allow-network`,
//! `--deny-network`, `--allow-private-networks`); [`Config::resolver`]
//! replaces DNS (tests map names to addresses with
//! [`Resolver::hosts`](solo_http::Resolver::hosts)). A custom
//! [`Fetch`](fetch::Fetch) enforces its own rules.
//!
//! URL credentials are masked (`https://user:***@host/`) in records,
//! error messages and the summary ([`redact_text`]); request headers are never
//! written out; `Referer` never carries userinfo or a fragment and is
//! strict-origin-when-cross-origin. The `--state` database keeps pending
//! requests whole, credentials included, to resume them.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(unnameable_types)]

mod budget;
mod canon;
mod checkpoint;
mod config;
mod crawl_rules;
mod css;
mod csv_feed;
mod deadline;
pub mod demo_site;
mod directives;
mod engine;
pub mod export;
pub mod fetch;
mod form;
mod frontier;
mod html_tokens;
pub mod idn;
mod link_extractor;
mod links;
pub mod login_site;
pub mod logs;
mod metrics;
pub mod offloop;
pub mod output;
mod per_ip;
pub mod pipeline;
pub mod recrawl;
mod redirect;
mod redis_delete;
mod redis_frontier;
mod redis_link;
mod redis_server;
mod request;
mod requisites;
mod response;
mod robots;
pub mod secrets;
mod selector;
mod session;
pub mod settings;
mod sink;
mod sitemap;
mod sorted_keys;
mod spider;
pub mod sqlite_sink;
pub mod stages;
mod start_scope;
mod stats;
mod store;
#[cfg(test)]
mod test_rng;
mod throttle;
pub mod warc;

pub use config::{Config, RobotsUnreachable, MAX_DURATION, MAX_TARGET_CONCURRENCY};
pub use crawl_rules::{CrawlRules, Rule};
pub use directives::Directives;
pub use engine::{CrawlError, Crawler, Pushed, StopHandle};
pub use form::{FormError, FormRequest};
pub use link_extractor::{Link, LinkExtractor, DEFAULT_DENY_EXTENSIONS};
pub use links::PageScan;
pub use output::{Format, OutputConfig, PageRecord, Target};
pub use pipeline::{ItemError, Pipeline, Pipelines};
pub use recrawl::Recrawl;
pub use redis_delete::{delete_crawl, Deleted};
pub use redis_frontier::{FrontierBackend, RedisFrontier};
pub use redis_link::{
    crawl_status, no_such_crawl, replace_settings, share_settings, shared_settings, CrawlStatus,
};
pub use request::{Request, RequestExtras};
pub use response::{Response, SelectError};
pub use secrets::redact_text;
pub use selector::{Selector, SelectorList, XPathError};
pub use sitemap::{lastmod_time, SitemapLimits, SitemapRole, SitemapRules};
pub use spider::{Failure, LinkCallback, LinkSpider, Output, Spider};
pub use stats::{Counters, Summary};
pub use throttle::AutoThrottle;
pub use warc::{WarcOutput, DEFAULT_WARC_GZIP_LEVEL};

/// Internals that the benchmarks in `bench/` and the `seen_memory`
/// example measure. Not part of the API: no stability promise, hidden
/// from the docs.
#[doc(hidden)]
pub mod __bench {
    pub use crate::frontier::{IdHasher, SeenSet};
    pub use crate::links::{scan, scan_dom};

    /// The scan of a page's base, links and title as another tokenizer
    /// found them (as written): the rest of [`scan`], for comparing
    /// tokenizers.
    pub fn scan_of_parts(
        page: &url::Url,
        base: Option<String>,
        hrefs: Vec<String>,
        title: String,
    ) -> crate::PageScan {
        crate::links::scan_of_parts(page, base, hrefs, title)
    }

    /// [`scan`] as `--page-requisites` runs it (links and requisites).
    pub fn scan_requisites(html: &str, page: &url::Url) -> crate::PageScan {
        crate::links::scan_with(html, page, usize::MAX, encoding_rs::UTF_8, true)
    }
}

/// The snippets of `docs/scrapy-to-solo-crawl.md`, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/scrapy-to-solo-crawl.md")]
mod scrapy_guide_doctests {}
