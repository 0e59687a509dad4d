//! A crawl's settings as an operator writes them: the `solo-crawl crawl`
//! flags, a TOML config file with the same names, and the effective
//! settings printed back as TOML.
//!
//! Owns: [`CrawlSettings`] (one field per flag; the long flag name is the
//! TOML key), turning a config file into flags for the parser (so a file's
//! values get the same checks as typed ones, and flags win), the TOML
//! form, and which settings give a crawl its meaning ([`MEANING`], compared
//! when a `--state` crawl resumes). Must not: build the crawl's
//! [`Config`](crate::Config) (the binary does), or read anything but the
//! file it is given.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{ArgAction, CommandFactory};
use serde::{Serialize, Serializer};

use crate::logs::{LogFormat, LogLevel};
use crate::output::Format;

/// Every option of `solo-crawl crawl` that a config file may hold; the
/// TOML key is the long flag name (`max-pages = 100` is `--max-pages
/// 100`), a flag that takes no value is `true`/`false`, a repeatable one
/// an array, and the start URLs are `urls = [...]`.
///
/// ```
/// use clap::Parser;
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     settings: solo_crawl::settings::CrawlSettings,
/// }
/// let cli = Cli::parse_from(["solo-crawl", "http://example.com/", "--depth", "2"]);
/// let toml = cli.settings.to_toml().unwrap();
/// assert!(toml.contains("depth = 2"));
/// assert!(toml.contains("urls = [\"http://example.com/\"]"));
/// ```
#[derive(clap::Args, Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct CrawlSettings {
    /// Start URLs (http:// or https://); optional with --sitemap.
    #[arg(value_name = "URL")]
    pub urls: Vec<String>,
    /// Follow links at most this deep (start URLs are depth 0), counting
    /// the shortest path: a page with links reached again by a shorter
    /// path after it was fetched is fetched again at the smaller depth (a
    /// second record) so its links within the limit are crawled (not an
    /// error, a non-HTML or a link-less page, nor with --redis, whose
    /// seen set keeps no depths, nor pages fetched before a --state
    /// resume).
    #[arg(long)]
    pub depth: Option<u32>,
    /// Stop after this many pages.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pages: Option<u64>,
    /// Stop gracefully after this long (1d, 12h, 30m, 45s; Scrapy's
    /// CLOSESPIDER_TIMEOUT): the requests in flight finish and are
    /// written, and the exit status is 0. With --state, running the same
    /// command again goes on where it stopped (a long crawl in slices).
    /// With --redis, each worker's own time (`worker --max-time`), not
    /// kept with the crawl.
    #[arg(long, value_name = "AGE", value_parser = parse_max_time)]
    #[serde(
        serialize_with = "age_as_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_time: Option<std::time::Duration>,
    /// Exit with status 1 when any page is broken: its record has an
    /// error (connection refused, DNS, TLS, timeout, robots.txt
    /// unreachable...) or a 4xx/5xx status after retries, as link
    /// checkers do (linkchecker, wget --spider). The summary's `broken`
    /// line counts them (links to hosts whose robots.txt is unreachable
    /// too); without this flag the exit status is 0 unless no start URL
    /// succeeded. With --state, each run counts its own pages: a run that
    /// resumes a crawl does not see the broken pages of the runs before.
    #[arg(long)]
    pub fail_on_broken: bool,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=100000))]
    pub concurrency: u64,
    /// Requests in flight at once per host.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=100000))]
    pub per_host: u64,
    /// Requests in flight at once per IP address, over all the host names
    /// that resolve to it (many sites on one shared server share it; each
    /// host is resolved once, before its first request). Default: no
    /// per-IP limit.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100000))]
    pub per_ip: Option<u64>,
    /// Pause between requests to one host, in milliseconds (jittered
    /// 0.5-1.5x; at most a day).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=86_400_000))]
    pub delay: u64,
    /// Adapt each host's pause to its latency and slow down on 429/503
    /// (Scrapy's AutoThrottle; starts at 1 s per host, at most 60 s).
    #[arg(long)]
    pub autothrottle: bool,
    /// With --autothrottle: requests to keep in flight per host on average
    /// (above 0, at most 100000; below 1 spaces requests by more than the
    /// latency).
    #[arg(long, default_value_t = 1.0, value_name = "N")]
    pub autothrottle_target: f64,
    /// Follow nothing above the directory of a start URL (wget's
    /// --no-parent): from http://a.test/docs/v2/ only URLs under
    /// /docs/v2/ on that host (page requisites are still fetched).
    #[arg(long)]
    pub no_parent: bool,
    /// Also follow links to this domain and its subdomains (repeatable).
    #[arg(long = "allow-domain", value_name = "DOMAIN")]
    pub allow_domain: Vec<String>,
    /// Follow only URLs matching this regex (repeatable: any of them).
    #[arg(long, value_name = "REGEX")]
    pub allow: Vec<String>,
    /// Skip URLs matching this regex (repeatable).
    #[arg(long, value_name = "REGEX")]
    pub deny: Vec<String>,
    /// Do not fetch or obey robots.txt, nor the nofollow of
    /// <meta name="robots"> and X-Robots-Tag (still recorded).
    #[arg(long)]
    pub ignore_robots: bool,
    /// What a robots.txt that could not be fetched (network error,
    /// timeout, 5xx, 429), retried like a page (--retries, --backoff-max,
    /// Retry-After), means: disallow skips that host's pages for this run
    /// (RFC 9309; each gets a record whose error starts robots_unreachable:
    /// and says why robots.txt failed), allow crawls them as if
    /// there were no robots.txt (Scrapy's behaviour).
    #[arg(long, value_enum, default_value_t = crate::RobotsUnreachable::Disallow, value_name = "WHAT")]
    pub robots_unreachable: crate::RobotsUnreachable,
    /// How long a host's robots.txt is obeyed before it is fetched again
    /// (RFC 9309: at most 24 hours; e.g. 12h, 30m): for crawls that run
    /// longer. One that could not be fetched is asked again after an hour
    /// at most. [default: 24h]
    #[arg(long, value_name = "AGE", value_parser = crate::recrawl::parse_age)]
    #[serde(
        serialize_with = "age_as_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub robots_max_age: Option<std::time::Duration>,
    /// Do not follow links marked rel="nofollow" (followed by default;
    /// a page whose <meta name="robots"> or X-Robots-Tag says nofollow
    /// has none of its links followed unless --ignore-robots).
    #[arg(long)]
    pub skip_nofollow_links: bool,
    /// Follow a <meta http-equiv="refresh"> like a redirect (through
    /// the same rules, counted in --max-redirects; the page's record has
    /// `redirect_to`) when its delay is at most this many seconds
    /// (Scrapy's METAREFRESH_MAXDELAY); the page itself is still
    /// recorded and its links followed like any page's. A refresh to the
    /// page itself is never followed.
    #[arg(long, default_value_t = 100.0, value_name = "S")]
    pub max_refresh_delay: f64,
    /// Do not follow <meta http-equiv="refresh">.
    #[arg(long)]
    pub no_meta_refresh: bool,
    /// Also fetch what each HTML page needs to display (wget -p), so a
    /// --warc archive of it replays whole: images (every srcset
    /// candidate), scripts, frames, video/audio with posters and tracks,
    /// embed/object, icons, stylesheets, url() in style attributes and
    /// `<style>`, and in each stylesheet its url() and @import (fonts,
    /// backgrounds). They are fetched past --depth and from any host (CDNs;
    /// see --requisites-in-scope), under robots.txt, --deny, --max-pages
    /// and the per-host limits, and are not followed for links.
    #[arg(long)]
    pub page_requisites: bool,
    /// With --page-requisites: only from hosts in the crawl's scope (start
    /// hosts, --allow-domain, --allow), as wget -p without -H.
    #[arg(long)]
    pub requisites_in_scope: bool,
    /// Also crawl the sitemaps listed (Sitemap: lines) in the start
    /// hosts' robots.txt, and the pages they list.
    #[arg(long)]
    pub sitemaps: bool,
    /// Crawl this sitemap (index, urlset, .xml.gz, or a robots.txt URL
    /// for its Sitemap: lines) and the pages it lists (repeatable).
    #[arg(long, value_name = "URL")]
    pub sitemap: Vec<String>,
    /// Page URLs taken from all sitemaps at most (each sitemap is also
    /// cut at 50,000 URLs and 50 MiB decompressed, indexes at 2 levels of
    /// nesting; cuts are counted in the summary).
    #[arg(long, default_value_t = 5_000_000, value_name = "N")]
    pub sitemap_max_urls: u64,
    /// Skip sitemap entries, pages and sitemaps, whose `<lastmod>` is older
    /// than AGE (1d, 12h, 30m, 45s): a news crawl takes only recent
    /// articles, and skips old monthly sitemaps unread. Entries without
    /// a `<lastmod>` are taken; skipped ones are counted as `old`.
    #[arg(long, value_name = "AGE", value_parser = crate::recrawl::parse_age)]
    #[serde(
        serialize_with = "age_as_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub sitemap_newer_than: Option<std::time::Duration>,
    /// Seconds one request may take, each redirect hop a request (0.001 to
    /// 86400). Time the crawler itself was stalled past the deadline is
    /// given back (up to S more). Name resolution gets 90% of it: a host
    /// whose DNS does not answer fails as a `dns` error that says so, and
    /// its name is not looked up again for 20 s.
    #[arg(long, default_value_t = 30.0, value_name = "S")]
    pub timeout: f64,
    /// Largest body accepted, in bytes (suffixes K, M, G allowed; at most 16G).
    #[arg(long, default_value = "64M", value_parser = parse_size)]
    pub max_bytes: usize,
    /// Redirects followed in a row (0: none). A redirect's target is
    /// crawled as a new request, so scope, robots.txt, the seen set,
    /// --max-pages and the host's limits apply to it; the redirect's
    /// record has `redirect_to` (rebuild a chain by following it), the
    /// target's `redirected_from`; a loop is the error of the hop that
    /// closes it.
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100))]
    pub max_redirects: u32,
    /// Extra attempts for a retryable failure: 408, 429, 5xx, a connection
    /// refused or reset, a timeout (Scrapy's RETRY_TIMES). Waits double
    /// from 0.5 s, or what the server's Retry-After says.
    #[arg(long, default_value_t = 2, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100))]
    pub retries: u32,
    /// The longest wait before a retry, in seconds, a server's Retry-After
    /// included: a longer Retry-After is cut to it (said in the log).
    #[arg(long, default_value_t = 60.0, value_name = "S")]
    pub backoff_max: f64,
    /// Bytes of response bodies held in memory at once, over all requests
    /// (suffixes K, M, G; default 256M, or --max-bytes if that is larger).
    /// A download that would go over waits for others to finish.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_buffered: Option<usize>,
    /// Follow at most this many links of one page (the first ones); a page
    /// with more gets "truncated":["links"] in its record.
    #[arg(long, default_value_t = 10_000, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=10_000_000))]
    pub max_links_per_page: u64,
    /// Cut text fields of page records (URLs, title, content type, error)
    /// to this many characters; a cut field is named in the record's
    /// "truncated" list.
    #[arg(long, default_value_t = 8192, value_name = "N", value_parser = clap::value_parser!(u64).range(16..=1 << 30))]
    pub max_field_chars: u64,
    /// CSV: write cells as they are. By default a cell starting with
    /// = + - @ (or tab, CR) gets a leading ' so spreadsheets do not run it
    /// as a formula, and control characters become U+FFFD.
    #[arg(long)]
    pub csv_raw: bool,
    /// The User-Agent header (the robots.txt agent is its first word,
    /// or the bot named after "compatible;" in a Mozilla/5.0 one).
    #[arg(long)]
    pub user_agent: Option<String>,
    /// The robots.txt agent: the product token its User-agent groups and
    /// <meta name="..."> are matched by (letters, - and _), when it is
    /// not the User-Agent's (Scrapy's ROBOTSTXT_USER_AGENT).
    #[arg(long, value_name = "NAME")]
    pub robots_agent: Option<String>,
    /// Send this header with every request, "Name: value" (repeatable;
    /// like wget --header, Scrapy's DEFAULT_REQUEST_HEADERS). Credentials
    /// (Authorization, Proxy-Authorization, Cookie, and API keys and
    /// tokens known by the words of their names: X-Api-Key,
    /// X-Auth-Token, X-Authorization, Private-Token, X-Session-Id, a word
    /// key, session, password, passcode, bearer, authorization or
    /// authentication, or one ending in auth, token, secret or apikey) go
    /// only to the start URLs' origins (scheme, host and port: not to plain http after
    /// https, another port, --sitemap hosts, --allow-domain hosts,
    /// redirects elsewhere, requisites on CDNs); their values are masked
    /// in the WARC's warcinfo and request records and in messages.
    /// `@FILE` reads one header a line from FILE (as curl's -H @file), so
    /// a secret stays off the command line, and with --redis out of Redis
    /// (the crawl keeps the file's absolute path; each worker reads its own copy):
    /// a --redis crawl refuses a credential given inline.
    #[arg(long, value_name = "HEADER")]
    pub header: Vec<String>,
    /// Also trust the CA certificate(s) in this file (PEM or DER) for
    /// https:// (repeatable).
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_cert: Vec<PathBuf>,
    /// DANGEROUS: accept any TLS certificate (self-signed, expired, another
    /// host's), like curl's --insecure; for testing local servers only.
    #[arg(long)]
    pub insecure: bool,
    /// Also allow connections to this network (CIDR like 10.20.0.0/16, or
    /// one address), repeatable. By default the crawl never connects to
    /// loopback, private, link-local (cloud metadata), carrier-grade NAT or
    /// other non-public addresses, wherever links, redirects or DNS point,
    /// except where its start URLs are (a start URL typed as an address:
    /// its network; a start host name: its own addresses).
    #[arg(long = "allow-network", value_name = "CIDR", value_parser = parse_network)]
    #[serde(serialize_with = "as_strings")]
    pub allow_network: Vec<solo_http::IpNet>,
    /// Never connect to this network (CIDR or one address), repeatable;
    /// it wins over the start URLs' networks and over a less specific
    /// --allow-network.
    #[arg(long = "deny-network", value_name = "CIDR", value_parser = parse_network)]
    #[serde(serialize_with = "as_strings")]
    pub deny_network: Vec<solo_http::IpNet>,
    /// Turn the private-network guard off: connect to any address
    /// (--deny-network still applies). Only for crawls of trusted sites.
    #[arg(long)]
    pub allow_private_networks: bool,
    /// Keep cookies: what a response sets (Set-Cookie) is sent back on
    /// later requests, as a browser would (one jar for the crawl; kept
    /// in --state, shared by all workers with --redis).
    #[arg(long)]
    pub cookies: bool,
    /// Write records here instead of stdout: a file is appended to (never
    /// cut, except with --state: what a killed run wrote after its last
    /// checkpoint, also in its file when the resumed run writes another);
    /// `-` is stdout; /dev/null, a pipe or a FIFO work too.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Output format (jsonl or csv; an --output FILE ending in .csv is
    /// CSV unless --format says otherwise). An --output file that holds
    /// records in the other format is refused: one file would hold both.
    #[arg(long, default_value = "jsonl")]
    #[serde(serialize_with = "format_name")]
    pub format: Format,
    /// Keep the crawl's state here (SQLite) and resume from it: rerun the
    /// same command after a crash or Ctrl-C to continue. Each record is
    /// written to an --output file once, even across kill -9. One crawl
    /// per directory at a time; a damaged state is an error. The settings
    /// that give the crawl its meaning are kept too: resuming with others
    /// is refused (see --force).
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Logs, metrics and the stats file.
    #[command(flatten)]
    #[serde(flatten)]
    pub observability: Observability,
    /// Also archive every exchange (pages, redirects, robots.txt,
    /// sitemaps, error answers) as WARC/1.1 files named after FILE:
    /// crawl.warc.gz writes crawl-00000.warc.gz, crawl-00001.warc.gz, ...
    /// (each record a gzip member of its own when FILE ends in .gz, in
    /// any case). Each
    /// run, resumed or not, starts at the next free number, with --state
    /// past every file an earlier run of the crawl wrote, even one moved
    /// away since (a run that fetches nothing writes no file).
    #[arg(long, value_name = "FILE")]
    pub warc: Option<PathBuf>,
    /// Send every request (pages, robots.txt, sitemaps) through this HTTP
    /// proxy: [http://][USER:PASSWORD@]HOST[:PORT] (Scrapy's
    /// HttpProxyMiddleware). https pages go through a CONNECT tunnel, so
    /// they stay end to end; http pages are forwarded (the whole URL as
    /// the request target, as curl sends them). Without --proxy, the
    /// environment's https_proxy, http_proxy, all_proxy and no_proxy are
    /// used, as curl and wget do (localhost and loopback addresses always
    /// go direct; --noproxy '*' ignores them). With --warc,
    /// WARC-IP-Address is the proxy's (the address the crawl connected
    /// to), and request records are written as sent directly. The
    /// password is masked wherever the crawl writes the option (WARC,
    /// errors); it is not kept with --state, and each worker of a --redis
    /// crawl sets its own (`worker --proxy`).
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Hosts reached directly although a proxy is set (--proxy or the
    /// environment's), as curl's --noproxy: comma-separated names (their
    /// subdomains too), addresses and CIDR networks, optional :PORT; '*'
    /// for all (the environment's proxies are then not used). Replaces
    /// the environment's no_proxy. Each worker's own, like --proxy.
    #[arg(long, value_name = "LIST")]
    pub noproxy: Option<String>,
    /// With --warc: start the next file before an exchange (a request
    /// and its response, kept together) would take one past SIZE
    /// (suffixes K, M, G).
    #[arg(long, default_value = "1G", value_name = "SIZE", value_parser = parse_size)]
    pub warc_max_size: usize,
    /// With --warc FILE.gz: the gzip level of each record, 0 (none) to 12
    /// (smallest, slowest). Level 1, the fastest, is within a few % of 6's
    /// size on typical crawl pages at less than half its CPU; 6 is about
    /// 10 % smaller on large pages.
    #[arg(long, default_value_t = crate::DEFAULT_WARC_GZIP_LEVEL, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=12))]
    pub warc_gzip_level: u8,
    /// With --warc: keep credentials in the request records as sent. By
    /// default the values of credential headers (Authorization,
    /// Proxy-Authorization and API keys and tokens: all but the scheme;
    /// Cookie) are written as *** (a WARC is often shared;
    /// responses are always kept as received).
    #[arg(long)]
    pub warc_keep_secrets: bool,
    /// With --state: requests kept in memory at most (about 1 KiB each);
    /// the rest wait in the state store and come back as the queue drains.
    /// Without --state the whole queue is in memory.
    #[arg(long, default_value_t = 100_000, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub frontier_cap: u64,
    /// With --redis: a worker silent this long (killed, cut off) loses its
    /// leased requests to the other workers, in seconds (0.3 to 86400).
    #[arg(long, default_value_t = 30.0, value_name = "S")]
    pub lease_timeout: f64,
}

/// The options that watch a crawl (logs, metrics, the stats file), which
/// each worker of a shared crawl (`--redis`) sets for itself: part of
/// [`CrawlSettings`] (`solo-crawl crawl`), and of `solo-crawl worker`.
///
/// ```
/// use solo_crawl::settings::{CrawlSettings, Observability};
/// let s = CrawlSettings::from_toml("urls = [\"http://a/\"]\nstats-file = \"s.json\"", "x").unwrap();
/// assert_eq!(s.observability.stats_file.as_deref(), Some("s.json".as_ref()));
/// assert_eq!(Observability { stats_file: None, ..s.observability }, Observability::default());
/// ```
#[derive(clap::Args, Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Observability {
    /// Log events at this level and above: error, warn, info (start,
    /// resume, robots.txt per host, retries and give-ups, throttling,
    /// stop), debug (every request and response), trace. RUST_LOG, when
    /// set, wins (full filter syntax, e.g. solo_crawl=debug,solo_http=info).
    #[arg(long, value_enum, default_value_t = LogLevel::Warn, value_name = "LEVEL")]
    pub log_level: LogLevel,
    /// Log lines as text, or as JSON objects (one a line) for log shippers.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,
    /// Append the log here instead of stderr (logs never go to the
    /// record output). The program's own messages (a start URL that
    /// failed, a fatal error) and the final summary still go to stderr,
    /// and to this file too, as log lines (whatever --log-level says).
    /// On a terminal, the progress line is cleared before
    /// each log line on stderr and drawn again after it. With --redis
    /// --workers N, worker i appends to FILE with i before its extension
    /// (crawl.log: crawl.0.log, crawl.1.log, ...).
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Serve live Prometheus metrics at http://ADDR/metrics while the crawl
    /// runs (e.g. 127.0.0.1:9898; port 0 picks one, logged at info). With
    /// --redis, each worker serves its own counts (sum them over the
    /// workers; `solo-crawl status` shows the crawl's); with --workers N,
    /// worker i listens on port PORT+i (port 0: each picks its own).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// With --metrics: after the crawl, keep serving the final values for
    /// this many seconds (at most a day) before exiting, so that a
    /// scraper gets them (Ctrl-C ends the wait).
    #[arg(long, default_value_t = 0, value_name = "S", value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub metrics_linger: u64,
    /// Write the final statistics here as JSON (the summary's counters),
    /// at the end: written beside FILE, then renamed over it, so that a
    /// run killed before its end leaves the previous FILE as it was.
    /// With --redis, a worker's own (the pages it crawled); with
    /// --workers N, worker i writes FILE with i before its extension
    /// (stats.json: stats.0.json, stats.1.json, ...).
    #[arg(long, value_name = "FILE")]
    pub stats_file: Option<PathBuf>,
    /// Every S seconds, log the progress at info level: pages and items
    /// so far and per minute, requests in flight and queued (Scrapy's
    /// LogStats; for crawls with no terminal, e.g. under systemd or
    /// docker). Default 60; 0: never. Needs --log-level info.
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub log_stats: Option<u64>,
    /// No summary on stderr at the end (wget -q, Scrapy --nolog): for cron
    /// jobs, which mail whatever a command prints. It still goes to
    /// --log-file and --stats-file; warnings and errors are still said.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// The settings that give a crawl its meaning: a `--state` crawl resumed
/// with any of them changed would not be the crawl it started as, so it
/// is refused unless `--force`. The others (concurrency, timeouts,
/// output, logs) may change between runs.
pub const MEANING: &[&str] = &[
    "urls",
    "depth",
    "max-pages",
    "allow-domain",
    "no-parent",
    "allow",
    "deny",
    "ignore-robots",
    "skip-nofollow-links",
    "max-refresh-delay",
    "no-meta-refresh",
    "page-requisites",
    "requisites-in-scope",
    "sitemaps",
    "sitemap",
    "sitemap-max-urls",
    "sitemap-newer-than",
    "max-bytes",
    "max-redirects",
    "max-links-per-page",
    "user-agent",
    "robots-agent",
    "allow-network",
    "deny-network",
    "allow-private-networks",
    "cookies",
];

/// `--max-time`: an age, more than 0 and at most a year.
///
/// ```
/// assert!(solo_crawl::settings::parse_max_time("90m").is_ok());
/// assert!(solo_crawl::settings::parse_max_time("0s").is_err());
/// ```
pub fn parse_max_time(s: &str) -> Result<std::time::Duration, String> {
    let d = crate::recrawl::parse_age(s)?;
    if d.is_zero() || d > std::time::Duration::from_secs(365 * 86_400) {
        return Err(format!("{s:?}: more than 0 and at most a year (365d)"));
    }
    Ok(d)
}

/// An age as `--recrawl-older-than` and `--sitemap-newer-than` read it.
fn age_as_text<S: Serializer>(v: &Option<std::time::Duration>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(d) => s.serialize_str(&crate::recrawl::show_age(*d)),
        None => s.serialize_none(),
    }
}

fn as_strings<S: Serializer, T: ToString>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(T::to_string))
}

fn format_name<S: Serializer>(f: &Format, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match f {
        Format::Jsonl => "jsonl",
        Format::Csv => "csv",
    })
}

/// The largest size option accepted (16 GiB).
const MAX_SIZE: usize = 16 << 30;

/// A size in bytes, with an optional K, M or G suffix.
fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1usize << 10),
        Some((i, 'm' | 'M')) => (&s[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    let n: usize = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 1048576, 512K, 64M)"))?;
    n.checked_mul(mult)
        .filter(|&n| n > 0 && n <= MAX_SIZE)
        .ok_or_else(|| format!("{s:?} is out of range (1 byte to 16G)"))
}

/// A network in CIDR notation, or one address (a /32 or /128).
fn parse_network(s: &str) -> Result<solo_http::IpNet, String> {
    let s = s.trim();
    if let Ok(net) = s.parse::<solo_http::IpNet>() {
        return Ok(net);
    }
    s.parse::<std::net::IpAddr>()
        .map(solo_http::IpNet::from)
        .map_err(|_| format!("{s:?} is not a network (e.g. 10.20.0.0/16, fd00::/8, 192.0.2.7)"))
}

/// Parses [`CrawlSettings`] alone (for checking one key of a file).
#[derive(clap::Parser)]
#[command(no_binary_name = true)]
struct Alone {
    #[command(flatten)]
    settings: CrawlSettings,
}

impl CrawlSettings {
    /// The WARC options set to something that cannot apply, each as a
    /// warning: `--warc-max-size`, `--warc-gzip-level` or
    /// `--warc-keep-secrets` without `--warc`, and a gzip level for a
    /// `--warc` name that is not `.gz` (written plain). A warning, not an
    /// error: a `--config` file may set them for runs with and without
    /// `--warc`.
    ///
    /// ```
    /// use solo_crawl::settings::CrawlSettings;
    /// let s = CrawlSettings::from_toml("urls = [\"http://a/\"]\nwarc-max-size = \"1K\"", "x").unwrap();
    /// assert!(s.unused_warc_options()[0].starts_with("--warc-max-size has no effect without --warc"));
    /// let s = CrawlSettings::from_toml("urls = [\"http://a/\"]\nwarc = \"a.warc.gz\"", "x").unwrap();
    /// assert!(s.unused_warc_options().is_empty());
    /// ```
    pub fn unused_warc_options(&self) -> Vec<String> {
        let level_set = self.warc_gzip_level != crate::DEFAULT_WARC_GZIP_LEVEL;
        let Some(warc) = &self.warc else {
            let set = [
                (
                    "--warc-max-size",
                    self.warc_max_size as u64 != crate::warc::DEFAULT_WARC_MAX_SIZE,
                ),
                ("--warc-gzip-level", level_set),
                ("--warc-keep-secrets", self.warc_keep_secrets),
            ];
            return set
                .into_iter()
                .filter(|(_, set)| *set)
                .map(|(flag, _)| format!("{flag} has no effect without --warc FILE; ignored"))
                .collect();
        };
        match level_set && !crate::WarcOutput::new(warc).gzip() {
            true => vec![format!(
                "--warc-gzip-level has no effect: --warc {} does not end in .gz, so its records are written plain (name it FILE.warc.gz to compress them)",
                warc.display()
            )],
            false => Vec::new(),
        }
    }

    /// The settings as TOML, one key per option (unset ones left out):
    /// what `solo-crawl config --print` shows, and a valid `--config`
    /// file. Fails only on a path that is not UTF-8.
    pub fn to_toml(&self) -> Result<String, String> {
        toml::to_string(self).map_err(|e| format!("cannot write the settings as TOML: {e}"))
    }

    /// The settings a [`to_toml`](CrawlSettings::to_toml) text (or any
    /// config file's) stands for, with the defaults for the keys it leaves
    /// out; errors name `origin` and the key.
    ///
    /// ```
    /// use solo_crawl::settings::CrawlSettings;
    /// let s = CrawlSettings::from_toml("urls = [\"http://a/\"]\ndepth = 2", "redis").unwrap();
    /// assert_eq!((s.depth, s.concurrency), (Some(2), 64));
    /// assert_eq!(CrawlSettings::from_toml(&s.to_toml().unwrap(), "again").unwrap(), s);
    /// ```
    pub fn from_toml(text: &str, origin: &str) -> Result<CrawlSettings, String> {
        // `origin` names what holds the text (not always a file).
        let flags = file_flags(text, Path::new(origin), |_| false)
            .map_err(|e| e.replacen(&format!("config file {origin}"), origin, 1))?;
        <Alone as clap::Parser>::try_parse_from(flags.around(Vec::new()))
            .map(|a| a.settings)
            .map_err(|e| format!("{origin}: {}", e.to_string().trim_end()))
    }

    /// The settings as normalized `solo-crawl crawl` arguments: the flags
    /// for every option (defaults included), then `--` and the start URLs.
    ///
    /// ```
    /// use solo_crawl::settings::CrawlSettings;
    /// let s = CrawlSettings::from_toml("urls = [\"http://a/\"]\nmax-pages = 9", "x").unwrap();
    /// let flags = s.to_flags().unwrap();
    /// assert!(flags.contains(&"--max-pages=9".to_owned()));
    /// assert_eq!(flags[flags.len() - 2..], ["--", "http://a/"]);
    /// ```
    pub fn to_flags(&self) -> Result<Vec<String>, String> {
        let f = file_flags(&self.to_toml()?, Path::new("settings"), |_| false)?;
        let urls = f.urls.iter().cloned();
        let dashes = (!f.urls.is_empty()).then(|| "--".to_owned());
        Ok(f.flags.into_iter().chain(dashes).chain(urls).collect())
    }

    /// The settings that give the crawl its meaning ([`MEANING`]), each as
    /// its TOML value (`"(not set)"` when unset), to compare on resume.
    ///
    /// ```
    /// use clap::Parser;
    /// #[derive(Parser)]
    /// struct Cli {
    ///     #[command(flatten)]
    ///     settings: solo_crawl::settings::CrawlSettings,
    /// }
    /// let a = Cli::parse_from(["x", "http://a/", "--depth", "2"]).settings.meaning();
    /// let b = Cli::parse_from(["x", "http://a/", "--concurrency", "9"]).settings.meaning();
    /// assert_eq!(a["depth"], "2");
    /// assert_eq!(b["depth"], "(not set)");
    /// assert!(!a.contains_key("concurrency"));
    /// ```
    pub fn meaning(&self) -> BTreeMap<String, String> {
        let all = self.values();
        MEANING
            .iter()
            .map(|&k| {
                let v = all.get(k).map_or("(not set)", String::as_str);
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    /// Every setting that is set, as its TOML value: with
    /// [`differences`], what two runs of a shared crawl disagree on.
    ///
    /// ```
    /// use solo_crawl::settings::{differences, CrawlSettings};
    /// let a = CrawlSettings::from_toml("urls = [\"http://a/\"]\ndelay = 5", "a").unwrap();
    /// let b = CrawlSettings::from_toml("urls = [\"http://a/\"]\nconcurrency = 9", "b").unwrap();
    /// let d = differences(&a.values(), &b.values());
    /// assert_eq!(d, ["concurrency: 64 (stored) -> 9 (now)", "delay: 5 (stored) -> 0 (now)"]);
    /// // Lists are sets: the same start URLs in another order are no change.
    /// let c = CrawlSettings::from_toml("urls = [\"http://b/\", \"http://a/\", \"http://a/\"]", "c").unwrap();
    /// let e = CrawlSettings::from_toml("urls = [\"http://a/\", \"http://b/\"]", "e").unwrap();
    /// assert!(differences(&e.meaning(), &c.meaning()).is_empty());
    /// ```
    pub fn values(&self) -> BTreeMap<String, String> {
        let table = toml::Table::try_from(self).unwrap_or_default();
        table.into_iter().map(|(k, v)| (k, v.to_string())).collect()
    }
}

/// The differences between a crawl's stored meaning and the one asked for
/// now, one line per setting (`depth: 2 (stored) -> 3 (now)`); empty when
/// they agree.
///
/// ```
/// use std::collections::BTreeMap;
/// let old = BTreeMap::from([("depth".to_owned(), "2".to_owned())]);
/// let new = BTreeMap::from([("depth".to_owned(), "3".to_owned())]);
/// let d = solo_crawl::settings::differences(&old, &new);
/// assert_eq!(d, ["depth: 2 (stored) -> 3 (now)"]);
/// // A flag a state from an older version does not know is off there.
/// let flag = BTreeMap::from([("page-requisites".to_owned(), "false".to_owned())]);
/// assert!(solo_crawl::settings::differences(&BTreeMap::new(), &flag).is_empty());
/// // URL credentials are never shown.
/// let pw = |p: &str| BTreeMap::from([("urls".to_owned(), format!("[\"http://al:{p}@a.test/\"]"))]);
/// assert_eq!(solo_crawl::settings::differences(&pw("old"), &pw("new")),
///     ["urls: a URL's credentials differ (masked)"]);
/// let more = BTreeMap::from([("urls".to_owned(), "[\"http://al:new@a.test/\", \"http://b.test/\"]".to_owned())]);
/// let d = solo_crawl::settings::differences(&pw("old"), &more).join("");
/// assert!(d.contains("b.test") && !d.contains("old") && !d.contains("new"), "{d}");
/// ```
pub fn differences(
    stored: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
) -> Vec<String> {
    let unset = "(not set)".to_owned();
    let mut keys: Vec<&String> = stored.keys().chain(now.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (a, b) = (
                stored.get(k).unwrap_or(&unset),
                now.get(k).unwrap_or(&unset),
            );
            // A flag is off where it is not set (a state written before
            // the flag existed): `false` in TOML, a string is quoted.
            let same = a == b || [a, b].iter().all(|v| *v == &unset || *v == "false");
            if same {
                return None;
            }
            // Lists (start URLs, patterns) are sets: their order and
            // repeats change nothing; a long one is told by its changes.
            match (as_set(a), as_set(b)) {
                (Some(x), Some(y)) if x == y => None,
                // Headers may carry secrets: told masked.
                _ if k == "header" => {
                    let (a, b) = (masked_headers(a), masked_headers(b));
                    Some(match a == b {
                        true => format!("{k}: a credential's value differs (values masked)"),
                        false => format!("{k}: {a} (stored) -> {b} (now)"),
                    })
                }
                (Some(x), Some(y)) if a.len() + b.len() > 300 => {
                    Some(format!("{k}: {}", set_change(&x, &y)))
                }
                _ => Some(format!("{k}: {a} (stored) -> {b} (now)")),
            }
            // URLs' credentials (start URLs, sitemaps) are masked too.
            .map(|line| match crate::secrets::redact_text(&line) {
                std::borrow::Cow::Borrowed(_) => line,
                std::borrow::Cow::Owned(masked) => {
                    let (ma, mb) = (
                        crate::secrets::redact_text(a),
                        crate::secrets::redact_text(b),
                    );
                    match (as_set(&ma), as_set(&mb)) {
                        (Some(x), Some(y)) if x == y => {
                            format!("{k}: a URL's credentials differ (masked)")
                        }
                        _ if ma == mb => format!("{k}: a URL's credentials differ (masked)"),
                        _ => masked,
                    }
                }
            })
        })
        .collect()
}

/// A TOML array of `--header` values with the credentials' values masked.
fn masked_headers(value: &str) -> String {
    let Ok(table) = toml::from_str::<toml::Table>(&format!("v = {value}")) else {
        return "(unreadable)".to_owned();
    };
    let items: Vec<String> = table
        .get("v")
        .and_then(toml::Value::as_array)
        .map(|a| a.iter().filter_map(toml::Value::as_str))
        .into_iter()
        .flatten()
        .map(|h| format!("{:?}", crate::secrets::redact_header_arg(h)))
        .collect();
    format!("[{}]", items.join(", "))
}

/// The items of a TOML array value (`["a", "b"]`), as a set.
fn as_set(value: &str) -> Option<std::collections::BTreeSet<String>> {
    let table: toml::Table = toml::from_str(&format!("v = {value}")).ok()?;
    let items = table.get("v")?.as_array()?;
    Some(items.iter().map(ToString::to_string).collect())
}

/// How set `now` differs from `stored`, with at most three of the items
/// added and removed.
fn set_change(
    stored: &std::collections::BTreeSet<String>,
    now: &std::collections::BTreeSet<String>,
) -> String {
    let some = |items: Vec<&String>| {
        let shown: Vec<&str> = items.iter().take(3).map(|s| s.as_str()).collect();
        match items.len() {
            n if n > 3 => format!("{} (and {} more)", shown.join(", "), n - 3),
            _ => shown.join(", "),
        }
    };
    let added: Vec<&String> = now.difference(stored).collect();
    let removed: Vec<&String> = stored.difference(now).collect();
    let mut text = format!("{} (stored) -> {} (now)", stored.len(), now.len());
    if !added.is_empty() {
        text += &format!("; added {}", some(added));
    }
    if !removed.is_empty() {
        text += &format!("; removed {}", some(removed));
    }
    text
}

/// What a config file says, as flags for the parser: `flags` go before
/// the command line's arguments, `urls` (the start URLs) after them.
#[derive(Debug, Default, PartialEq)]
pub struct FileFlags {
    /// `--key=value` or `--key`, one per value.
    pub flags: Vec<String>,
    /// The file's `urls`.
    pub urls: Vec<String>,
}

impl FileFlags {
    /// The arguments to parse: the file's flags, then the command line's
    /// `args` (which win), then the file's start URLs.
    ///
    /// ```
    /// let f = solo_crawl::settings::FileFlags { flags: vec!["--depth=2".into()], urls: vec!["http://x/".into()] };
    /// let args = f.around(vec!["--cookies".into()]);
    /// assert_eq!(args, ["--depth=2", "--cookies", "--", "http://x/"]);
    /// ```
    pub fn around(self, args: Vec<OsString>) -> Vec<OsString> {
        let dashes = args.iter().any(|a| a == "--");
        let mut all: Vec<OsString> = self.flags.into_iter().map(OsString::from).collect();
        all.extend(args);
        if !self.urls.is_empty() && !dashes {
            all.push("--".into());
        }
        all.extend(self.urls.into_iter().map(OsString::from));
        all
    }
}

/// The flags a TOML config file stands for, leaving out the keys for which
/// `given(id)` says the command line has its own value (flags win). Each
/// key is checked by the same parser as the flags; an unknown key, a value
/// of the wrong type or a bad value is an error naming the file and key.
///
/// ```
/// let f = solo_crawl::settings::file_flags(
///     "depth = 2\nallow = [\"a\", \"b\"]\ncookies = true\nurls = [\"http://x/\"]",
///     std::path::Path::new("crawl.toml"),
///     |id| id == "depth",
/// ).unwrap();
/// assert_eq!(f.flags, ["--allow=a", "--allow=b", "--cookies"]);
/// assert_eq!(f.urls, ["http://x/"]);
/// let err = solo_crawl::settings::file_flags("dept = 2", "c.toml".as_ref(), |_| false).unwrap_err();
/// assert!(err.contains("c.toml") && err.contains("\"dept\""), "{err}");
/// ```
pub fn file_flags(
    text: &str,
    file: &Path,
    given: impl Fn(&str) -> bool,
) -> Result<FileFlags, String> {
    let f = file.display();
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("config file {f}: not valid TOML: {e}"))?;
    let cmd = Alone::command();
    let mut out = FileFlags::default();
    for (key, value) in &table {
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(key) || (a.is_positional() && a.get_id() == key))
            .ok_or_else(|| {
                format!(
                    "config file {f}: unknown key {key:?}; the keys are the long names of \
                     `solo-crawl crawl --help` (e.g. max-pages = 100) and urls = [...]"
                )
            })?;
        if given(arg.get_id().as_str()) {
            continue;
        }
        let bad = |what: &str| format!("config file {f}: key {key:?}: {what}");
        let scalar = |v: &toml::Value| match v {
            toml::Value::String(s) => Ok(s.clone()),
            toml::Value::Integer(i) => Ok(i.to_string()),
            toml::Value::Float(x) => Ok(x.to_string()),
            _ => Err(bad(&format!("expected a string or a number, not {v}"))),
        };
        let values = match value {
            toml::Value::Array(vs) if matches!(arg.get_action(), ArgAction::Append) => {
                if vs.is_empty() {
                    continue; // none, as when the flag is not given
                }
                vs.iter().map(scalar).collect::<Result<Vec<_>, _>>()?
            }
            v if matches!(arg.get_action(), ArgAction::SetTrue) => match v {
                toml::Value::Boolean(true) => vec![],
                toml::Value::Boolean(false) => continue,
                _ => return Err(bad(&format!("expected true or false, not {v}"))),
            },
            v => vec![scalar(v)?],
        };
        let mine: Vec<String> = if arg.is_positional() {
            std::iter::once("--".to_owned())
                .chain(values.iter().cloned())
                .collect()
        } else if values.is_empty() {
            vec![format!("--{key}")]
        } else {
            values.iter().map(|v| format!("--{key}={v}")).collect()
        };
        // The same checks as on the command line, for this key alone.
        if let Err(e) = Alone::command().try_get_matches_from(&mine) {
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or_default();
            return Err(bad(first.trim_start_matches("error: ")));
        }
        if arg.is_positional() {
            out.urls = values;
        } else {
            out.flags.extend(mine);
        }
    }
    Ok(out)
}

/// Reads `file` with [`file_flags`] (an unreadable file is an error
/// naming it).
pub fn read_file_flags(file: &Path, given: impl Fn(&str) -> bool) -> Result<FileFlags, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read the config file {}: {e}", file.display()))?;
    file_flags(&text, file, given)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token changed in `--header` is told, never shown (re-audit 5:
    /// the stored and the new token were printed).
    #[test]
    fn header_differences_mask_credentials() {
        let s = |h: &str| {
            CrawlSettings::from_toml(&format!("urls = [\"http://a/\"]\nheader = [\"{h}\"]"), "t")
                .unwrap()
        };
        let d = differences(
            &s("Authorization: Bearer OLD").values(),
            &s("Authorization: Bearer NEW").values(),
        );
        assert_eq!(d, ["header: a credential's value differs (values masked)"]);
        let d = differences(
            &s("X-A: 1").values(),
            &s("Authorization: Bearer NEW").values(),
        );
        assert_eq!(d.len(), 1);
        assert!(!d[0].contains("NEW") && d[0].contains("X-A: 1"), "{}", d[0]);
    }

    /// A long list of start URLs (`--urls-file`) is told by its
    /// changes: one URL added to 20,000 made a 1.5 MB message.
    #[test]
    fn a_long_list_is_told_by_what_changed() {
        let list = |n: usize| {
            let urls: Vec<String> = (0..n).map(|i| format!("\"http://a.test/p/{i}\"")).collect();
            CrawlSettings::from_toml(&format!("urls = [{}]", urls.join(", ")), "t").unwrap()
        };
        let d = differences(&list(20_000).meaning(), &list(20_001).meaning());
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].len() < 200, "{}", d[0]);
        assert!(
            d[0].starts_with(
                "urls: 20000 (stored) -> 20001 (now); added \"http://a.test/p/20000\""
            ),
            "{}",
            d[0]
        );
    }

    #[test]
    fn every_key_is_the_long_flag_name() {
        for a in Alone::command().get_arguments() {
            let key = a.get_id().as_str().replace('_', "-");
            match a.get_long() {
                Some(long) => assert_eq!(long, key),
                None => assert_eq!(key, "urls"),
            }
        }
        for k in MEANING {
            assert!(
                Alone::command()
                    .get_arguments()
                    .any(|a| a.get_long() == Some(k) || *k == "urls"),
                "{k}"
            );
        }
    }

    #[test]
    fn printed_settings_read_back_the_same() {
        let given = [
            "http://a/",
            "--depth=3",
            "--allow=x",
            "--allow=y",
            "--max-bytes=1M",
            "--cookies",
            "--allow-network=10.0.0.0/8",
            "--format=csv",
            "--timeout=2.5",
            "--sitemap-newer-than=2d",
            "--header=X-Api: 1",
            "--header=Authorization: Bearer t",
        ];
        let a = <Alone as clap::Parser>::parse_from(given).settings;
        let f = file_flags(&a.to_toml().unwrap(), "x.toml".as_ref(), |_| false).unwrap();
        let b = <Alone as clap::Parser>::parse_from(f.around(vec![])).settings;
        assert_eq!(a, b);
    }
}
