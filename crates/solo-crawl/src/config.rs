//! The crawl's settings.
//!
//! Owns: every knob of a crawl and its default (Scrapy's settings, with
//! the values `solo-crawl crawl` starts from). Must not: hold runtime
//! state; the engine and the frontier read it once at start.

use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;
use solo_http::{IpNet, Resolver};

use crate::sitemap::SitemapLimits;
use crate::throttle::AutoThrottle;

/// The longest pause or time limit a crawl accepts: a day. Longer ones are
/// almost surely a unit mistake (and would overflow the clock).
pub const MAX_DURATION: Duration = Duration::from_secs(86_400);

/// What a host's robots.txt that could not be fetched means
/// ([`Config::robots_unreachable`], `--robots-unreachable`).
///
/// ```
/// let cfg = solo_crawl::Config::default();
/// assert_eq!(cfg.robots_unreachable, solo_crawl::RobotsUnreachable::Disallow);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RobotsUnreachable {
    /// The host's pages are not fetched in this run (RFC 9309 §2.3.1.4);
    /// each has a record whose error says why robots.txt failed.
    #[default]
    Disallow,
    /// The host's pages are fetched as if it had no robots.txt (Scrapy).
    Allow,
}

/// How to crawl: limits, politeness, scope, retries.
///
/// ```
/// use std::time::Duration;
/// let cfg = solo_crawl::Config {
///     depth_limit: Some(2),
///     per_host: 4,
///     delay: Duration::from_millis(250),
///     ..Default::default()
/// };
/// assert_eq!(cfg.concurrency, 64);
/// assert!(cfg.obey_robots);
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    /// Requests in flight at once, in all.
    pub concurrency: usize,
    /// Requests in flight at once to one host (`host:port`).
    pub per_host: usize,
    /// Requests in flight at once to one IP address, over all the host
    /// names that resolve to it (`--per-ip`; Heritrix's and BUbiNG's
    /// politeness by IP): many sites on one shared server share this
    /// budget. Each host is resolved once, before its first request (see
    /// the `per_ip` module); `None` (the default) sets no such limit.
    pub per_ip: Option<usize>,
    /// Pause between two requests to the same host.
    pub delay: Duration,
    /// Randomize each pause to 0.5–1.5 × `delay` (never below the host's
    /// robots.txt Crawl-delay).
    pub jitter: bool,
    /// Adapt each host's pause to its latency and to 429/503 answers
    /// (see [`AutoThrottle`]); `delay` stays the floor. Off by default.
    pub autothrottle: Option<AutoThrottle>,
    /// Halve a host's concurrency when it sheds load (connections refused
    /// or reset, timeouts, 429/503) and grow it back as it answers. On by
    /// default.
    pub overload_backoff: bool,
    /// Pages deeper than this are not requested (start URLs are depth 0).
    /// Depth is the shortest path: a URL found again by a shorter path is
    /// taken again at the smaller depth (a queued request moves up; a page
    /// with links already fetched is fetched again, a second record, so
    /// its links within the limit are reached; an error, a non-HTML or a
    /// link-less page is not). The seen set then keeps each URL's
    /// depth (16 bytes a URL instead of 8). Not with a Redis frontier,
    /// whose seen set has no depths (a URL is taken once), nor for pages
    /// fetched before a `--state` crawl was stopped (their depths are not
    /// stored).
    pub depth_limit: Option<u32>,
    /// Stop scheduling new pages after this many (with a Redis frontier:
    /// once this many page records are written over all workers; see
    /// docs/distributed.md).
    pub max_pages: Option<u64>,
    /// Stop gracefully this long after the crawl starts (Scrapy's
    /// `CLOSESPIDER_TIMEOUT`): no new request starts, those in flight
    /// finish and are written, and [`Summary::stopped_by`](crate::Summary::stopped_by)
    /// says `max_time`. With `state_dir` the next run resumes where this
    /// one stopped, so a long crawl can run in slices. At most a year.
    pub max_time: Option<Duration>,
    /// Stop gracefully once this many items came out of the spider
    /// (through the item pipelines, when there are: the items they kept),
    /// as Scrapy's `CLOSESPIDER_ITEMCOUNT`: no new request starts,
    /// [`Summary::stopped_by`](crate::Summary::stopped_by) says
    /// `max_items`, and with `state_dir` the next run goes on from there.
    ///
    /// With pipelines, the items still inside them count too: while the
    /// items kept and those in the pipelines make up the limit, no new
    /// request starts; once the pipelines are through, the crawl stops,
    /// or goes on if they dropped some. How far past the limit: the
    /// requests in flight when it is reached finish (as in Scrapy) and
    /// their items are kept, so at most `max_items - 1` plus the items of
    /// the page that reached it plus those of the other pages then in
    /// flight (fewer than [`concurrency`](Self::concurrency)). With one
    /// request at a time: at most the items of the one page that reached
    /// it.
    pub max_items: Option<u64>,
    /// Follow links only to the hosts of the start URLs (plus
    /// `allow_domains`); when false, any host. Unlike Scrapy (whose
    /// offsite filter acts only with `allowed_domains`), this scope is on
    /// by default and holds every request a callback makes, links and
    /// requests it builds alike, but a
    /// [`dont_filter`](crate::Request::dont_filter) one. A request it
    /// turns away is counted (`offsite` in the summary) and, once per
    /// host, logged at info with the rule.
    pub stay_on_start_hosts: bool,
    /// Follow nothing above the directory of a start URL of the same
    /// origin, as wget's `--no-parent`: from `http://a.test/docs/v2/` (or
    /// `.../v2/index.html`) only `http://a.test/docs/v2/...` (and
    /// `.../v2` itself); other start URLs open their own directories.
    /// Applies where the scope does (page requisites, unless in scope
    /// too, and `dont_filter` requests are exempt); a URL turned away is
    /// counted as `parent`.
    pub no_parent: bool,
    /// More domains to follow links to (a domain also admits its
    /// subdomains).
    pub allow_domains: Vec<String>,
    /// If any are given, a followed URL must match one of them.
    pub allow: Vec<Regex>,
    /// A followed URL matching any of these is skipped.
    pub deny: Vec<Regex>,
    /// Fetch and obey each host's robots.txt (Disallow, Crawl-delay), and
    /// what pages say: a page whose `<meta name="robots">` or
    /// `X-Robots-Tag` says `nofollow` has none of its links followed:
    /// its callback's GETs (without a body) of URLs the page links to are
    /// dropped; its other requests (a form's POST, an API's next page, a
    /// URL the spider built) are sent (`noindex` and `nofollow` are
    /// recorded either way).
    pub obey_robots: bool,
    /// What a robots.txt that could not be had means, once its fetch has
    /// been retried like a page's (`max_retries`, the backoff, Retry-After):
    /// a network error, a timeout, a 5xx or 429. By default the host's
    /// pages are not fetched in this run (RFC 9309 §2.3.1.4), each counted
    /// as `robots_unreachable` (skipped, and an error of that kind) and
    /// written as a record without a status, its `error` starting
    /// `robots_unreachable:` with the robots.txt fetch's error (the URL,
    /// its referer and depth, for a link check);
    /// [`RobotsUnreachable::Allow`] crawls them as
    /// if there were no robots.txt (Scrapy's behaviour).
    pub robots_unreachable: RobotsUnreachable,
    /// How long a host's robots.txt is obeyed before it is fetched again
    /// (RFC 9309 §2.4: a crawler should not use one for more than 24
    /// hours); one that could not be fetched is asked again after an
    /// hour at most (`frontier::UNREACHABLE_ROBOTS_AGE`). Default 24 h.
    pub robots_max_age: Duration,
    /// One request must finish within this (each redirect hop is a
    /// request of its own).
    pub timeout: Duration,
    /// A larger body is an error.
    pub max_bytes: usize,
    /// Bytes of response bodies held in memory at once, over all
    /// downloads and the pages being parsed (Scrapy's
    /// `SCRAPER_SLOT_MAX_ACTIVE_SIZE`, but a hard bound): a download that
    /// would go over waits for others to finish. Never less than
    /// `max_bytes` (a smaller value counts as `max_bytes`): one download at
    /// a time may always grow to `max_bytes`, so the crawl cannot deadlock.
    /// A body's bytes count until the last clone of its
    /// [`Response::body`](crate::Response::body) is dropped: a spider that
    /// keeps bodies keeps their share.
    pub max_buffered: usize,
    /// Links taken from one page at most (the first ones, in document
    /// order); a page with more is marked `truncated: ["links"]` in its
    /// record and counted in the summary (`links_capped`). Like Nutch's
    /// `db.max.outlinks.per.page` or Heritrix's `maxOutlinks`. With
    /// [`page_requisites`](Config::page_requisites) it also caps the
    /// requisites of one page or stylesheet: one with more is marked
    /// `truncated: ["requisites"]` (not counted in `links_capped`).
    pub max_links_per_page: usize,
    /// HTML bodies larger than this are scanned for links and title on a
    /// helper thread ([`solo::to_thread`]), so a huge page does not stall
    /// the loop (and the timers of the other requests) while it is read.
    pub parse_off_loop_bytes: usize,
    /// The `User-Agent` header; the robots.txt agent is taken from it
    /// (see [`robots_agent`](Config::robots_agent)).
    pub user_agent: String,
    /// The product token robots.txt groups (`User-agent: NAME`) and
    /// `<meta name="NAME">` are matched by, as Scrapy's
    /// `ROBOTSTXT_USER_AGENT`; `None`: the User-Agent's own
    /// ([`agent_name`](Config::agent_name)).
    pub robots_agent: Option<String>,
    /// Headers sent with every request, after the crawl's `User-Agent`,
    /// `Accept` and `Referer` (replacing one of the same name; a
    /// request's own headers win). Credentials (`Authorization`,
    /// `Proxy-Authorization`, `Cookie`, and API keys and tokens known by
    /// their names: see [`secrets::is_credential`](crate::secrets::is_credential))
    /// go only to the origins (scheme,
    /// host, port) of the spider's start requests, never to another
    /// origin the crawl reaches (plain http after https included).
    pub headers: Vec<(String, String)>,
    /// Send every request (pages, robots.txt, sitemaps) through this HTTP
    /// proxy, `http://[user:password@]host[:port]`: https in a `CONNECT`
    /// tunnel (end to end), http forwarded (the whole URL as the request
    /// target, as curl and Scrapy send it); `None`: the environment's
    /// proxies if [`proxy_from_env`](Config::proxy_from_env), else none.
    /// The proxy itself may be on a private address; the pages' names are
    /// checked as this machine resolves them (one that points here into a
    /// private network is refused), then the proxy is asked for the name;
    /// a name that does not resolve here is left to the proxy's DNS. An
    /// invalid URL fails
    /// [`Crawler::run`](crate::Crawler::run) with the password masked.
    pub proxy: Option<String>,
    /// Without [`proxy`](Config::proxy), take the proxies from the
    /// environment (default on, as Scrapy's `HttpProxyMiddleware`, curl
    /// and wget): `https_proxy`, `http_proxy`, `all_proxy`, `no_proxy`
    /// (see `solo_http::ClientBuilder::proxy_from_env`); `localhost` and
    /// loopback addresses are always reached directly.
    pub proxy_from_env: bool,
    /// Hosts reached directly although a proxy is set, as curl's
    /// `--noproxy` takes them: `*` for all (the environment is then not
    /// read), names (their subdomains too), addresses, CIDR networks,
    /// comma-separated; replaces the environment's `no_proxy`.
    pub no_proxy: Option<String>,
    /// More TLS roots to trust for `https://` (DER certificates, e.g. a
    /// private CA), besides the built-in Mozilla roots.
    pub root_certificates: Vec<Vec<u8>>,
    /// **Dangerous**: accept any TLS certificate (self-signed, expired,
    /// another host's), so anyone on the path can read and change the
    /// traffic. For local testing only.
    pub danger_accept_invalid_certs: bool,
    /// Extra attempts for a retryable failure (429, 5xx, connect errors,
    /// timeouts).
    pub max_retries: u32,
    /// The first retry waits this long, doubling each time (unless the
    /// server sent `Retry-After`).
    pub backoff_base: Duration,
    /// No retry waits longer than this, `Retry-After` included.
    pub backoff_max: Duration,
    /// Redirects followed in a row: a redirect's target is crawled as a
    /// new request (scope, robots.txt, seen set, page budget and
    /// politeness apply), unless the chain already has this many hops or
    /// loops back (then the redirect's record has a `redirect:` error).
    /// 0 follows none.
    pub max_redirects: u32,
    /// Follow a `<meta http-equiv="refresh">` whose delay is at most this
    /// like a redirect (its target goes through the frontier, the page's
    /// record has `redirect_to`); the page is still a page (the callback
    /// gets it, its record has its title, robots directives and
    /// canonical, its links are followed); `None` follows none. A refresh to the page itself is
    /// a reload, never followed. Default 100 s (Scrapy's
    /// `METAREFRESH_MAXDELAY`): a longer delay is a page that updates
    /// itself, not one that moved.
    pub max_refresh_delay: Option<Duration>,
    /// Do not follow links marked `rel="nofollow"` (they are still found,
    /// and marked in [`PageScan::rel_nofollow`](crate::links::PageScan)).
    pub skip_nofollow_links: bool,
    /// Also fetch each HTML page's requisites (`--page-requisites`; wget's
    /// `-p`, Heritrix's embedded resources), so that an archive
    /// (`--warc`) of the page replays whole: its images (and every
    /// `srcset` candidate), scripts, frames, media and their posters and
    /// tracks, `embed`/`object`, `input type=image`, icons (Apple's too),
    /// stylesheets, preloads (`link rel=preload|modulepreload`), the
    /// `background` of `body` and tables, SVG `<image>`, and the `url(...)`/`@import` of its `<style>` blocks and `style`
    /// attributes; of each stylesheet fetched (`text/css`), its
    /// `url(...)` and `@import` (fonts, backgrounds, more stylesheets).
    /// Off by default: the scan then costs what it did.
    ///
    /// A requisite is fetched even past `depth_limit` (a page at the last
    /// depth still gets its images), and is not followed: no links are
    /// read from it and the spider does not see it (only a stylesheet's
    /// requisites are read, at most four embeds from the page). But a
    /// requisite whose answer is HTML (a frame's page) and that the crawl
    /// would have followed as a link (within `depth_limit`, the scope and
    /// `allow`) is crawled as a page, as in wget `-r -p`, when the spider
    /// names a callback for it
    /// ([`Spider::requisite_callback`](crate::Spider::requisite_callback):
    /// [`LinkSpider`](crate::LinkSpider) does, so the option loses no
    /// page; a custom spider's callbacks see no requisite by default, and
    /// its own request for such a URL is fetched apart). It is
    /// fetched from any host, as Heritrix and browser-based archivers do
    /// (pages load their images and fonts from CDNs), unless
    /// `requisites_in_scope`; robots.txt, the seen set (one URL is fetched
    /// once, as a link or as a requisite, whichever comes first; but an
    /// unclaimed requisite and a custom spider's own request for its URL
    /// are two), `max_pages`, `deny`, the per-host limits and delays and
    /// the network guard apply as to any request. Its record says `requisite: true`;
    /// a page's record counts what it embeds in `requisites`.
    pub page_requisites: bool,
    /// With `page_requisites`: fetch only the requisites within the
    /// crawl's scope (the start hosts, `allow_domains`, `allow`), as wget
    /// `-p` does without `-H`. Off by default: requisites come from any
    /// host.
    pub requisites_in_scope: bool,
    /// Read the `Sitemap:` lines of the start hosts' robots.txt and crawl
    /// the sitemaps they list (and the pages in them). With
    /// [`obey_robots`](Config::obey_robots), robots.txt is fetched once,
    /// for its rules and these lines.
    pub sitemaps: bool,
    /// Sitemaps to read at the start (indexes, urlsets, `.xml.gz`, or a
    /// robots.txt URL for its `Sitemap:` lines); their hosts are in scope
    /// like the start URLs'.
    pub sitemap_urls: Vec<url::Url>,
    /// Bounds on what sitemaps can make the crawl do.
    pub sitemap_limits: SitemapLimits,
    /// Skip sitemap entries (pages and sitemaps) whose `<lastmod>` is
    /// older than this (entries without one are taken); see also
    /// [`Spider::sitemap_filter`](crate::Spider::sitemap_filter).
    pub sitemap_newer_than: Option<Duration>,
    /// Stop gracefully on Ctrl-C, SIGTERM or SIGHUP (in-flight requests
    /// finish; a SIGHUP ignored at the start, as under `nohup`, stays
    /// ignored); a second one [hurries](crate::StopHandle::hurry) the
    /// crawl: [`Crawler::run`](crate::Crawler::run) returns at once,
    /// leaving the requests in flight (with `state_dir`, fetched on
    /// resume), its outputs flushed. The process is not exited: the
    /// program may wait on [`StopHandle::hurried`](crate::StopHandle::hurried)
    /// to exit sooner still.
    pub handle_ctrl_c: bool,
    /// Show a live progress line on stderr when it is a terminal.
    pub progress: bool,
    /// Keep the crawl's state here (frontier, seen set, progress) so it can
    /// resume after a crash. One crawl at a time: a second one on the same
    /// directory fails. A damaged state is an error (see `state_reset`).
    pub state_dir: Option<PathBuf>,
    /// With `state_dir`: discard the state it holds and start over (the
    /// output is appended to, not cleared).
    pub state_reset: bool,
    /// With `state_dir`: when the state holds a finished crawl, start a
    /// new pass over it with conditional requests (`--recrawl`; see
    /// [`recrawl`](crate::recrawl)). `None`: resume or start as usual.
    pub recrawl: Option<crate::Recrawl>,
    /// Serve live metrics in Prometheus text format at `GET /metrics` on
    /// this address while the crawl runs (see the `metrics` counters in
    /// [`Summary`](crate::Summary): the same numbers).
    pub metrics: Option<std::net::SocketAddr>,
    /// With `metrics`: after the crawl, keep serving the final values this
    /// long (so a scraper gets them), unless the crawl is stopped.
    pub metrics_linger: Duration,
    /// Every this long, log the crawl's progress at info level (pages and
    /// items so far and per minute, requests in flight and queued), as
    /// Scrapy's LogStats does; zero: never. Default: a minute.
    pub log_stats: Duration,
    /// With `state_dir`: the settings that give the crawl its meaning, as
    /// name → value (the binary's are
    /// [`CrawlSettings::meaning`](crate::settings::CrawlSettings::meaning)).
    /// They are kept with the state; resuming with different ones fails
    /// with [`CrawlError::State`](crate::CrawlError::State) listing the
    /// differences, unless `force_resume`. Empty: not checked.
    pub meaning: std::collections::BTreeMap<String, String>,
    /// With `meaning`: resume even if it differs from the stored one (the
    /// new one is kept).
    pub force_resume: bool,
    /// With `state_dir`: requests queued in memory at most; the rest wait
    /// in the store.
    pub frontier_cap: usize,
    /// Turn the private-network guard off: connect to loopback, private,
    /// link-local (cloud metadata), carrier-grade NAT and other special
    /// addresses wherever links, redirects or DNS point. Off by default:
    /// those are refused (error kind `blocked_address`) except where the
    /// start URLs are (an address typed: its network; a name: its own
    /// addresses). `deny_networks` still apply.
    pub allow_private_networks: bool,
    /// More networks the crawl may connect to (e.g. `10.20.0.0/16` for an
    /// intranet the start URLs do not cover). The most specific rule
    /// wins; deny wins a tie.
    pub allow_networks: Vec<IpNet>,
    /// Networks the crawl must never connect to, whatever else allows them.
    pub deny_networks: Vec<IpNet>,
    /// Resolves host names instead of the system resolver (for tests, or a
    /// resolver of your own); the address guard judges its answers too.
    pub resolver: Option<Resolver>,
    /// Keep cookies in a jar for the crawl (`--cookies`; Scrapy's
    /// `COOKIES_ENABLED`): what responses set is sent back. Off by
    /// default. Requests with their own
    /// [`cookie_jar`](crate::Request::cookie_jar) use that jar either way.
    /// The jars are kept in the `state_dir` (a resumed crawl is still
    /// logged in) and shared by the workers of a Redis frontier.
    pub cookies: bool,
    /// Where the frontier lives: in this process (the default), or in
    /// Redis, shared with other workers of the same crawl
    /// (`--redis URL --crawl-id NAME`; see docs/distributed.md). With
    /// Redis, `per_host`, `delay`, Crawl-delay, `Retry-After` pauses, the
    /// overload backoff, `autothrottle` and `max_pages` hold for all
    /// workers together, and `state_dir` is not used (Redis keeps the
    /// state).
    pub frontier: crate::redis_frontier::FrontierBackend,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            concurrency: 64,
            per_host: 8,
            per_ip: None,
            delay: Duration::ZERO,
            jitter: true,
            autothrottle: None,
            overload_backoff: true,
            depth_limit: None,
            max_pages: None,
            max_time: None,
            max_items: None,
            stay_on_start_hosts: true,
            no_parent: false,
            allow_domains: Vec::new(),
            allow: Vec::new(),
            deny: Vec::new(),
            obey_robots: true,
            robots_unreachable: RobotsUnreachable::Disallow,
            robots_max_age: Duration::from_secs(86_400),
            timeout: Duration::from_secs(30),
            max_bytes: 64 << 20,
            max_buffered: 256 << 20,
            max_links_per_page: 10_000,
            parse_off_loop_bytes: 256 << 10,
            user_agent: concat!("solo-crawl/", env!("CARGO_PKG_VERSION")).to_owned(),
            robots_agent: None,
            headers: Vec::new(),
            proxy: None,
            proxy_from_env: true,
            no_proxy: None,
            root_certificates: Vec::new(),
            danger_accept_invalid_certs: false,
            max_retries: 2,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
            max_redirects: 10,
            max_refresh_delay: Some(Duration::from_secs(100)),
            skip_nofollow_links: false,
            page_requisites: false,
            requisites_in_scope: false,
            sitemaps: false,
            sitemap_urls: Vec::new(),
            sitemap_limits: SitemapLimits::default(),
            sitemap_newer_than: None,
            handle_ctrl_c: false,
            progress: false,
            state_dir: None,
            state_reset: false,
            recrawl: None,
            metrics: None,
            metrics_linger: Duration::ZERO,
            log_stats: Duration::from_secs(60),
            meaning: Default::default(),
            force_resume: false,
            frontier_cap: 100_000,
            allow_private_networks: false,
            allow_networks: Vec::new(),
            deny_networks: Vec::new(),
            resolver: None,
            cookies: false,
            frontier: Default::default(),
        }
    }
}

impl Config {
    /// The robots.txt agent of the crawl: [`robots_agent`](Config::robots_agent)
    /// when set, else the User-Agent's product token — its first word
    /// without the version, or the bot named after `compatible;` in the
    /// form most bots use.
    ///
    /// ```
    /// let mut cfg = solo_crawl::Config::default();
    /// assert_eq!(cfg.agent_name(), "solo-crawl");
    /// cfg.user_agent = "Mozilla/5.0 (compatible; MyBot/1.0; +https://example.com/bot)".into();
    /// assert_eq!(cfg.agent_name(), "MyBot");
    /// cfg.robots_agent = Some("OtherBot".into());
    /// assert_eq!(cfg.agent_name(), "OtherBot");
    /// ```
    pub fn agent_name(&self) -> String {
        match &self.robots_agent {
            Some(name) => name.clone(),
            None => crate::robots::agent_name(&self.user_agent),
        }
    }

    /// Checks that every value is in its range, so the crawl cannot panic
    /// or wait forever on one; the first bad value, named, with its range.
    /// [`Crawler::run`](crate::Crawler::run) calls it first.
    ///
    /// ```
    /// use std::time::Duration;
    /// let cfg = solo_crawl::Config { delay: Duration::MAX, ..Default::default() };
    /// assert!(cfg.validate().unwrap_err().starts_with("Config::delay"));
    /// assert!(solo_crawl::Config::default().validate().is_ok());
    /// ```
    pub fn validate(&self) -> Result<(), String> {
        let at_most_a_day = |name: &str, d: Duration| {
            if d > MAX_DURATION {
                Err(format!("Config::{name} must be at most a day, not {d:?}"))
            } else {
                Ok(())
            }
        };
        let positive = |name: &str, n: usize| {
            if n == 0 {
                Err(format!("Config::{name} must be at least 1"))
            } else {
                Ok(())
            }
        };
        positive("concurrency", self.concurrency)?;
        if self.robots_max_age.is_zero() || self.robots_max_age > Duration::from_secs(365 * 86_400)
        {
            return Err(format!(
                "Config::robots_max_age must be more than 0 and at most a year, not {:?}",
                self.robots_max_age
            ));
        }
        if let Some(name) = &self.robots_agent {
            crate::robots::check_agent(name)
                .map_err(|why| format!("Config::robots_agent: {why}"))?;
        }
        if let Some(t) = self.max_time {
            if t.is_zero() || t > Duration::from_secs(365 * 86_400) {
                return Err(format!(
                    "Config::max_time must be more than 0 and at most a year, not {t:?}"
                ));
            }
        }
        if let crate::redis_frontier::FrontierBackend::Redis(r) = &self.frontier {
            if r.crawl_id.is_empty() || r.crawl_id.contains(['{', '}']) || r.crawl_id.len() > 200 {
                return Err(format!(
                    "Config::frontier: the crawl id must be 1 to 200 characters without braces, not {:?}",
                    r.crawl_id
                ));
            }
            if r.lease_timeout < Duration::from_millis(300) || r.lease_timeout > MAX_DURATION {
                return Err(format!(
                    "Config::frontier: the lease timeout must be between 300 ms and a day, not {:?}",
                    r.lease_timeout
                ));
            }
            if self.state_dir.is_some() {
                return Err("Config::state_dir cannot be used with a Redis frontier: Redis keeps the crawl's state".into());
            }
        }
        positive("per_host", self.per_host)?;
        if let Some(n) = self.per_ip {
            positive("per_ip", n)?;
        }
        positive("max_bytes", self.max_bytes)?;
        positive("frontier_cap", self.frontier_cap)?;
        at_most_a_day("delay", self.delay)?;
        at_most_a_day("timeout", self.timeout)?;
        at_most_a_day("metrics_linger", self.metrics_linger)?;
        at_most_a_day("log_stats", self.log_stats)?;
        if self.timeout < Duration::from_millis(1) {
            return Err(format!(
                "Config::timeout must be at least 1 ms, not {:?}",
                self.timeout
            ));
        }
        at_most_a_day("backoff_base", self.backoff_base)?;
        at_most_a_day("backoff_max", self.backoff_max)?;
        if let Some(t) = &self.autothrottle {
            at_most_a_day("autothrottle.start_delay", t.start_delay)?;
            at_most_a_day("autothrottle.max_delay", t.max_delay)?;
            let c = t.target_concurrency;
            if !(c.is_finite() && (0.0..=MAX_TARGET_CONCURRENCY).contains(&c)) {
                return Err(format!(
                    "Config::autothrottle.target_concurrency must be between 0 and \
                     {MAX_TARGET_CONCURRENCY}, not {c}"
                ));
            }
        }
        if self.recrawl.is_some() && self.state_dir.is_none() {
            return Err(
                "Config::recrawl needs Config::state_dir (--recrawl needs --state DIR): \
                        the pages to recrawl are in the state"
                    .into(),
            );
        }
        Ok(())
    }

    /// The body budget in effect: `max_buffered`, but never below
    /// `max_bytes`.
    ///
    /// ```
    /// let cfg = solo_crawl::Config { max_bytes: 10, max_buffered: 4, ..Default::default() };
    /// assert_eq!(cfg.body_budget(), 10);
    /// ```
    pub fn body_budget(&self) -> usize {
        self.max_buffered.max(self.max_bytes)
    }
}

/// The largest [`AutoThrottle::target_concurrency`] accepted.
pub const MAX_TARGET_CONCURRENCY: f64 = 100_000.0;
