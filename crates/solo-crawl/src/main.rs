//! `solo-crawl`: crawl sites from the command line, run the demo, or
//! benchmark the crawler against the built-in demo site.

/// The binary's allocator: see the `jemalloc` feature in Cargo.toml.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use regex::Regex;
use solo_crawl::demo_site::DemoSite;
use solo_crawl::settings::{self, CrawlSettings, Observability};
use solo_crawl::{
    AutoThrottle, Config, Crawler, Format, FrontierBackend, LinkSpider, OutputConfig,
    RedisFrontier, Summary, Target, WarcOutput,
};
use url::Url;

/// Prints to stdout like `print!`. A reader that went away (`| head`)
/// is no error: the rest is dropped and the command goes on to its own
/// exit status; any other write error is said on stderr.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!($($arg)*))
    };
}

/// `say!` with a newline, like `println!`.
macro_rules! sayln {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Says a line on stderr like `eprintln!`, in one write, without
/// panicking when stderr is gone (see [`solo_crawl::logs::message`]):
/// every message of the program goes through it.
macro_rules! tell {
    ($($arg:tt)*) => {
        solo_crawl::logs::message(format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod shared_cli;
mod worker_processes;
use shared_cli as shared;

/// A usage error: message and exit code 2.
struct Usage(String);

#[derive(Parser)]
#[command(
    name = "solo-crawl",
    version,
    about = "A concurrent web crawler on one thread (solo)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Crawl from the given URLs, writing one record per page.
    Crawl(Box<CrawlArgs>),
    /// Join a crawl shared through Redis (started by `crawl --redis`),
    /// with its settings.
    Worker(Box<WorkerArgs>),
    /// Print the progress of a crawl shared through Redis. Exit status 0
    /// for a running or finished crawl, 1 for a damaged one (or one whose
    /// stored settings this solo-crawl cannot read) or a failure.
    Status {
        #[command(flatten)]
        shared: SharedCrawl,
        /// Print one JSON object (for scripts and probes) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Remove a crawl shared through Redis: every key of its id
    /// (solo:{NAME}:*), its queue, seen set, settings and counters; what
    /// scrapy-redis does at the end with SCHEDULER_PERSIST = False. Refused
    /// while workers are live, unless --force.
    Delete {
        #[command(flatten)]
        shared: SharedCrawl,
        /// Delete it even with live workers (they would start it again
        /// half empty: stop them first).
        #[arg(long)]
        force: bool,
    },
    /// Add URLs to a crawl shared through Redis, for its workers (what
    /// scrapy-redis's `LPUSH myspider:start_urls URL` does): each passes
    /// the crawl's rules (its scope: the start hosts and --allow-domain;
    /// --allow/--deny) and its seen set, as a link would. Workers waiting
    /// with --idle-timeout take them at once; a finished crawl has work
    /// again (start workers). Exit 1 if a URL was refused.
    Push {
        #[command(flatten)]
        shared: SharedCrawl,
        /// The URLs to add.
        urls: Vec<String>,
        /// Also add the URLs in this file, one per line (`-`: standard
        /// input); blank lines and lines starting with # are skipped.
        #[arg(long, value_name = "FILE")]
        from_file: Option<PathBuf>,
    },
    /// Show the effective settings of a crawl (its config file and flags)
    /// as TOML, a valid --config file.
    #[command(name = "config")]
    ShowConfig {
        /// Print the settings (the only action for now).
        #[arg(long, required = true)]
        print: bool,
        #[command(flatten)]
        crawl: Box<CrawlArgs>,
    },
    /// Start a synthetic site on 127.0.0.1 and crawl it (no network needed).
    Demo {
        /// Pages on the demo site.
        #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        pages: u64,
        /// Write the page records here (default: nowhere; `-`: stdout).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Output format (jsonl or csv; default: csv for an --output
        /// ending in .csv, else jsonl).
        #[arg(long)]
        format: Option<Format>,
    },
    /// Crawl the built-in demo site for a while and report pages/s.
    Bench {
        /// How long to crawl.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
        seconds: u64,
        /// Requests in flight.
        #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=100000))]
        concurrency: u64,
    },
}

/// Which shared crawl.
#[derive(clap::Args)]
struct SharedCrawl {
    /// The Redis holding the crawl: redis://[USER:PASSWORD@]HOST[:PORT][/DB]
    /// (rediss:// for TLS; unix:///PATH?db=N&pass=PASSWORD for a socket).
    /// Or the environment variable SOLO_CRAWL_REDIS, which keeps the
    /// password off the command line (and out of `ps`).
    #[arg(
        long,
        value_name = "URL",
        env = "SOLO_CRAWL_REDIS",
        hide_env_values = true
    )]
    redis: String,
    /// The crawl's name in Redis (its keys are solo:{NAME}:*): 1 to 200
    /// characters, no braces.
    #[arg(long, value_name = "NAME", value_parser = crawl_id)]
    crawl_id: String,
}

#[derive(clap::Args)]
struct WorkerArgs {
    #[command(flatten)]
    shared: SharedCrawl,
    /// Write this worker's records here (default: stdout); give each
    /// worker its own file, then concatenate them.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also archive this worker's exchanges as WARC files named after
    /// FILE (see `crawl --warc`); give each worker its own name, like
    /// --output (a name already taken goes on at the next free number).
    #[arg(long, value_name = "FILE")]
    warc: Option<PathBuf>,
    /// This worker's requests in flight at once (default: the crawl's
    /// --concurrency).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100000))]
    concurrency: Option<u64>,
    /// This worker's logs, metrics and stats file (see `crawl --help`).
    #[command(flatten)]
    observability: Observability,
    /// This worker's HTTP proxy (see `crawl --proxy`). Or the
    /// environment variable SOLO_CRAWL_PROXY, which keeps its password
    /// off the command line (and out of `ps`).
    #[arg(
        long,
        value_name = "URL",
        env = "SOLO_CRAWL_PROXY",
        hide_env_values = true
    )]
    proxy: Option<String>,
    /// Hosts this worker reaches directly (see `crawl --noproxy`).
    #[arg(long, value_name = "LIST")]
    noproxy: Option<String>,
    /// Stop this worker gracefully after this long (see `crawl
    /// --max-time`); the crawl goes on with the other workers.
    #[arg(long, value_name = "AGE", value_parser = solo_crawl::settings::parse_max_time)]
    max_time: Option<Duration>,
    /// Run this many worker processes (this one and N-1 more); each writes
    /// --output FILE with its number in the name (more.jsonl:
    /// more.0.jsonl, more.1.jsonl, ...), and --warc, --log-file and
    /// --stats-file likewise (more.warc.gz: more.0-00000.warc.gz, ...;
    /// stats.json: stats.0.json, ...); with --metrics HOST:PORT, worker i
    /// listens on PORT+i. SIGINT or SIGTERM to this process stops them all
    /// gracefully.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    workers: Option<u64>,
    /// Started by a --workers parent: stop gracefully when stdin closes
    /// (the parent is gone).
    #[arg(long, hide = true)]
    parent_pipe: bool,
    /// See `crawl --idle-timeout`.
    #[arg(long, value_name = "AGE", value_parser = parse_idle)]
    idle_timeout: Option<Duration>,
}

#[derive(clap::Args)]
struct CrawlArgs {
    #[command(flatten)]
    settings: CrawlSettings,
    /// Lines of --urls-file skipped as bad (told again after the crawl).
    #[arg(skip)]
    bad_seed_lines: usize,
    /// Share the crawl through this Redis (redis://[USER:PASSWORD@]HOST[:PORT][/DB],
    /// rediss:// for TLS):
    /// its queues, seen set, politeness and settings live there, and
    /// `solo-crawl worker` processes on any machine join it. `--redis`
    /// without a URL takes it from the environment variable
    /// SOLO_CRAWL_REDIS, which keeps the password off the command line
    /// (and out of `ps`).
    #[arg(
        long,
        value_name = "URL",
        requires = "crawl_id",
        conflicts_with = "state",
        num_args = 0..=1,
        default_missing_value = ""
    )]
    redis: Option<String>,
    /// With --redis: the crawl's name (its keys are solo:{NAME}:*): 1 to
    /// 200 characters, no braces.
    #[arg(long, value_name = "NAME", requires = "redis", value_parser = crawl_id)]
    crawl_id: Option<String>,
    /// With --redis: run this many worker processes here (this one and
    /// N-1 more); each writes --output FILE with its number in the name
    /// (pages.jsonl: pages.0.jsonl, pages.1.jsonl, ...), even for N = 1,
    /// and --warc, --log-file and --stats-file likewise (crawl.warc.gz:
    /// crawl.0-00000.warc.gz, ...; stats.json: stats.0.json, ...); with
    /// --metrics HOST:PORT, worker i listens on PORT+i. Each counts its own
    /// pages (`solo-crawl status` shows the crawl's). SIGINT or SIGTERM to
    /// this process stops them all gracefully.
    #[arg(long, value_name = "N", requires = "redis", value_parser = clap::value_parser!(u64).range(1..=1024))]
    workers: Option<u64>,
    /// With --redis: once the crawl has nothing queued and no request in
    /// flight, each worker waits this long (1d, 12h, 30m, 45s, or
    /// `never`: until stopped) for URLs added with `solo-crawl push`
    /// before it exits (scrapy-redis's MAX_IDLE_TIME_BEFORE_CLOSE).
    /// Default: exit at once. Each worker's own (`worker --idle-timeout`).
    /// Such a worker stopped by SIGINT or SIGTERM exits 0.
    #[arg(long, value_name = "AGE", requires = "redis", value_parser = parse_idle)]
    idle_timeout: Option<Duration>,
    /// Also start from the URLs in this file, one per line (`-`: standard
    /// input; blank lines and lines starting with # are skipped), like
    /// wget -i. They join the URLs given as arguments (and the --config
    /// file's `urls`), and so the crawl's scope. A line that is no http(s)
    /// URL is skipped with a warning naming FILE:LINE (the first 10, then
    /// how many more); a file without one good URL is an error.
    #[arg(long, short = 'i', value_name = "FILE")]
    urls_file: Option<PathBuf>,
    /// Read settings from this TOML file: every option of the crawl (those
    /// listed before --redis) under its long name (`max-pages = 100`,
    /// `ignore-robots = true`, `allow =
    /// ["a", "b"]`, `urls = ["https://example.com/"]`); options given on
    /// the command line win. `solo-crawl config --print` shows the result.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// With --state: discard the state kept in DIR and start the crawl over
    /// (the output file is still appended to).
    #[arg(long)]
    state_reset: bool,
    /// With --state: resume even though settings that give the crawl its
    /// meaning (scope, depth, robots.txt, patterns, limits) differ from
    /// the ones it was started with; the new ones are kept from then on.
    /// With --redis: replace the stored settings of the crawl with these
    /// when they differ only in settings that do not change what it
    /// fetches (--per-host, --delay, --concurrency, timeouts, retries,
    /// ...); workers started from then on obey them, workers running
    /// keep the old ones until restarted.
    #[arg(long)]
    force: bool,
    /// With --state: when DIR holds a finished crawl, start a new pass over
    /// it: every known page is requested again with If-None-Match and
    /// If-Modified-Since from its last answer; a 304 is recorded with
    /// "not_modified": true and its earlier links are followed; changed
    /// pages are fetched and their new links crawled. An unfinished pass
    /// is resumed.
    #[arg(long, requires = "state")]
    recrawl: bool,
    /// With --recrawl: only pages last fetched longer ago than AGE (1d,
    /// 12h, 30m, 45s) are requested again.
    #[arg(long, value_name = "AGE", requires = "recrawl", value_parser = solo_crawl::recrawl::parse_age)]
    recrawl_older_than: Option<Duration>,
}

fn write_stdout(text: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let r = out.write_fmt(text).and_then(|()| out.flush());
    if let Err(e) = r {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            tell!("solo-crawl: stdout: {e}");
        }
    }
}

/// A `--header "Name: value"`: a valid header name and value (no line
/// breaks), the value trimmed.
fn parse_header(raw: &str) -> Result<(String, String), Usage> {
    // The value may be a secret: errors name the header only.
    let Some((name, value)) = raw.split_once(':') else {
        return Err(Usage(
            "--header wants \"Name: value\" (a header without a colon was given)".into(),
        ));
    };
    let (name, value) = (name.trim(), value.trim());
    let bad = |why: &str| Usage(format!("--header {name:?}: {why}"));
    hyper::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad("not a header name"))?;
    hyper::header::HeaderValue::from_str(value)
        .map_err(|_| bad("not a header value (one line of text)"))?;
    if name.eq_ignore_ascii_case("host") || name.eq_ignore_ascii_case("content-length") {
        return Err(bad("the crawler sets this one"));
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// The headers of a `--header @FILE` (as curl's `-H @file`): one "Name:
/// value" a line, blank lines and `#` comments skipped, read by each
/// process that crawls (a `--redis` crawl stores the file's absolute path, not its
/// secrets; each worker reads its own copy).
fn header_file(path: &Path) -> Result<Vec<(String, String)>, Usage> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Usage(format!("--header @{}: {e}", path.display())))?;
    let mut headers = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let h = parse_header(line)
            .map_err(|Usage(e)| Usage(format!("{}:{}: {e}", path.display(), i + 1)))?;
        headers.push(h);
    }
    Ok(headers)
}

/// `--idle-timeout`: an age as `--recrawl-older-than` takes it, or
/// `never` (`Duration::MAX`).
fn parse_idle(raw: &str) -> Result<Duration, String> {
    match raw.trim() {
        "never" => Ok(Duration::MAX),
        s => solo_crawl::recrawl::parse_age(s)
            .map_err(|_| format!("{s:?} is not an age (1d, 12h, 30m, 45s) or never")),
    }
}

/// `--crawl-id`: checked before anything is written to Redis (the
/// braces would break the key's hash tag: `solo:{NAME}:`).
fn crawl_id(raw: &str) -> Result<String, String> {
    if raw.is_empty() || raw.len() > 200 || raw.contains(['{', '}']) {
        return Err(
            "a crawl id is 1 to 200 characters without braces (its keys are solo:{NAME}:*)".into(),
        );
    }
    Ok(raw.to_owned())
}

fn parse_seed(raw: &str) -> Result<Url, Usage> {
    // Messages quote the URL with its password masked.
    let s = &*solo_crawl::redact_text(raw);
    let u = Url::parse(raw).map_err(|e| match e {
        url::ParseError::RelativeUrlWithoutBase => Usage(format!(
            "invalid URL {s:?}: no scheme (did you mean http://{s} ?)"
        )),
        e => Usage(format!("invalid URL {s:?}: {e}")),
    })?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(Usage(format!(
            "invalid URL {s:?}: only http:// and https:// URLs can be crawled"
        )));
    }
    solo_crawl::idn::check_host(&u).map_err(|e| Usage(format!("invalid URL {s:?}: {e}")))?;
    Ok(u)
}

/// The DER certificates in a PEM or DER file.
fn read_certs(path: &std::path::Path) -> Result<Vec<Vec<u8>>, Usage> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let bad = |e: &dyn std::fmt::Display| Usage(format!("--ca-cert {}: {e}", path.display()));
    let data = std::fs::read(path).map_err(|e| bad(&e))?;
    if data.is_empty() {
        return Err(bad(&"the file is empty"));
    }
    if !data.windows(10).any(|w| w == b"-----BEGIN") {
        // DER: one ASN.1 SEQUENCE (its contents are checked when the
        // client is built).
        if data[0] != 0x30 {
            return Err(bad(
                &"neither PEM (-----BEGIN CERTIFICATE-----) nor a DER certificate",
            ));
        }
        return Ok(vec![data]);
    }
    let certs = CertificateDer::pem_slice_iter(&data)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    if certs.is_empty() {
        return Err(bad(&"no certificate in the file"));
    }
    Ok(certs)
}

fn regexes(v: &[String], flag: &str) -> Result<Vec<Regex>, Usage> {
    v.iter()
        .map(|r| Regex::new(r).map_err(|e| Usage(format!("bad --{flag} regex {r:?}: {e}"))))
        .collect()
}

fn crawl_config(c: &CrawlArgs) -> Result<(Vec<Url>, Config, OutputConfig), Usage> {
    let a = &c.settings;
    if a.urls.is_empty() && a.sitemap.is_empty() {
        return Err(Usage(
            "start URLs are required (or --sitemap): on the command line, in a --urls-file, or as urls = [...] in the --config file".into(),
        ));
    }
    if c.state_reset && a.state.is_none() {
        return Err(Usage("--state-reset needs --state DIR".into()));
    }
    if c.force && a.state.is_none() && c.redis.is_none() {
        return Err(Usage("--force needs --state DIR or --redis URL".into()));
    }
    let seeds = a
        .urls
        .iter()
        .map(|s| parse_seed(s))
        .collect::<Result<Vec<_>, _>>()?;
    if !(a.timeout.is_finite() && a.timeout >= 0.001 && a.timeout <= 86400.0) {
        return Err(Usage(format!(
            "--timeout must be between 0.001 and 86400 seconds, not {}",
            a.timeout
        )));
    }
    if !(a.backoff_max.is_finite() && (0.0..=86400.0).contains(&a.backoff_max)) {
        return Err(Usage(format!(
            "--backoff-max must be between 0 and 86400 seconds, not {}",
            a.backoff_max
        )));
    }
    if !(a.max_refresh_delay.is_finite() && a.max_refresh_delay >= 0.0) {
        return Err(Usage(format!(
            "--max-refresh-delay must be a number of seconds >= 0, not {}",
            a.max_refresh_delay
        )));
    }
    let sitemap_urls = a
        .sitemap
        .iter()
        .map(|s| parse_seed(s).map_err(|Usage(m)| Usage(format!("--sitemap: {m}"))))
        .collect::<Result<Vec<_>, _>>()?;
    if !(a.autothrottle_target.is_finite()
        && a.autothrottle_target > 0.0
        && a.autothrottle_target <= solo_crawl::MAX_TARGET_CONCURRENCY)
    {
        return Err(Usage(format!(
            "--autothrottle-target must be a number above 0 and at most 100000, not {}",
            a.autothrottle_target
        )));
    }
    if let Some(b) = a.max_buffered.filter(|&b| b < a.max_bytes) {
        return Err(Usage(format!(
            "--max-buffered ({b}) must be at least --max-bytes ({}): one page must fit",
            a.max_bytes
        )));
    }
    if a.requisites_in_scope && !a.page_requisites {
        return Err(Usage(
            "--requisites-in-scope only narrows --page-requisites: add --page-requisites".into(),
        ));
    }
    for d in &a.allow_domain {
        if d.is_empty() || d.contains(['/', ':', ' ']) {
            return Err(Usage(format!(
                "--allow-domain wants a domain like example.com, not {d:?}"
            )));
        }
    }
    let mut cfg = Config {
        concurrency: a.concurrency as usize,
        per_host: a.per_host as usize,
        per_ip: a.per_ip.map(|n| n as usize),
        delay: Duration::from_millis(a.delay),
        autothrottle: a.autothrottle.then(|| AutoThrottle {
            target_concurrency: a.autothrottle_target,
            ..AutoThrottle::default()
        }),
        depth_limit: a.depth,
        max_pages: a.max_pages,
        max_time: a.max_time,
        allow_domains: a.allow_domain.clone(),
        no_parent: a.no_parent,
        allow: regexes(&a.allow, "allow")?,
        deny: regexes(&a.deny, "deny")?,
        obey_robots: !a.ignore_robots,
        robots_unreachable: a.robots_unreachable,
        robots_max_age: a.robots_max_age.unwrap_or(Config::default().robots_max_age),
        timeout: Duration::from_secs_f64(a.timeout),
        max_bytes: a.max_bytes,
        max_redirects: a.max_redirects,
        max_retries: a.retries,
        backoff_max: Duration::from_secs_f64(a.backoff_max),
        max_refresh_delay: (!a.no_meta_refresh)
            .then(|| Duration::from_secs_f64(a.max_refresh_delay.min(1e9))),
        skip_nofollow_links: a.skip_nofollow_links,
        page_requisites: a.page_requisites,
        requisites_in_scope: a.requisites_in_scope,
        sitemaps: a.sitemaps,
        sitemap_urls,
        sitemap_newer_than: a.sitemap_newer_than,
        sitemap_limits: solo_crawl::SitemapLimits {
            max_total_urls: a.sitemap_max_urls,
            ..Default::default()
        },
        max_buffered: a.max_buffered.unwrap_or(Config::default().max_buffered),
        max_links_per_page: a.max_links_per_page as usize,
        root_certificates: a
            .ca_cert
            .iter()
            .map(|p| read_certs(p))
            .collect::<Result<Vec<_>, _>>()?
            .concat(),
        danger_accept_invalid_certs: a.insecure,
        cookies: a.cookies,
        handle_ctrl_c: true,
        progress: true,
        state_dir: a.state.clone(),
        state_reset: c.state_reset,
        recrawl: c.recrawl.then_some(solo_crawl::Recrawl {
            older_than: c.recrawl_older_than,
        }),
        metrics: a.observability.metrics,
        metrics_linger: Duration::from_secs(a.observability.metrics_linger),
        log_stats: a
            .observability
            .log_stats
            .map_or(solo_crawl::Config::default().log_stats, Duration::from_secs),
        meaning: a.meaning(),
        force_resume: c.force,
        frontier_cap: a.frontier_cap as usize,
        allow_private_networks: a.allow_private_networks,
        allow_networks: a.allow_network.clone(),
        deny_networks: a.deny_network.clone(),
        proxy: a.proxy.clone(),
        no_proxy: a.noproxy.clone(),
        ..Config::default()
    };
    // Told before the crawl starts; the message masks the password.
    if let Some(p) = &a.proxy {
        solo_http::Client::builder()
            .proxy(p)
            .build()
            .map_err(|e| Usage(format!("--proxy: {e}")))?;
    }
    solo_crawl::fetch::check_proxies(&cfg).map_err(|e| {
        Usage(format!(
            "{e} (unset it, or --noproxy '*' to reach every host directly)"
        ))
    })?;
    if let (Some(url), Some(id)) = (&c.redis, &c.crawl_id) {
        if !(a.lease_timeout.is_finite() && (0.3..=86400.0).contains(&a.lease_timeout)) {
            return Err(Usage(format!(
                "--lease-timeout must be between 0.3 and 86400 seconds, not {}",
                a.lease_timeout
            )));
        }
        let mut r = RedisFrontier::new(url.clone(), id.clone());
        r.lease_timeout = Duration::from_secs_f64(a.lease_timeout);
        r.idle_timeout = c.idle_timeout;
        cfg.frontier = FrontierBackend::Redis(r);
    }
    if let Some(ua) = &a.user_agent {
        if ua.trim().is_empty() || ua.contains(['\r', '\n']) {
            return Err(Usage("--user-agent must be one non-empty line".into()));
        }
        cfg.user_agent = ua.clone();
    }
    if let Some(name) = &a.robots_agent {
        cfg.robots_agent = Some(name.clone());
        if let Err(why) = cfg.validate() {
            let why = why.replace("Config::robots_agent", "--robots-agent");
            return Err(Usage(why));
        }
    }
    cfg.headers = Vec::new();
    for h in &a.header {
        match h.strip_prefix('@') {
            Some(path) => cfg.headers.extend(header_file(Path::new(path))?),
            None => cfg.headers.push(parse_header(h)?),
        }
    }
    for why in a.unused_warc_options() {
        tell!("solo-crawl: warning: {why}");
    }
    let target = output_target(a.output.clone(), Target::Stdout);
    let out = OutputConfig {
        pages: target,
        items: Target::Discard, // LinkSpider emits none
        format: a.format,
        max_field_chars: a.max_field_chars as usize,
        csv_raw: a.csv_raw,
        warc: a.warc.as_ref().map(|path| warc_output(path, a, &cfg)),
    };
    Ok((seeds, cfg, out))
}

/// The `--warc` files, their `warcinfo` saying how the crawl was run.
fn warc_output(path: &std::path::Path, a: &CrawlSettings, cfg: &Config) -> WarcOutput {
    // Lossy for the text only: an argument need not be UTF-8 (a file name).
    let mut after_proxy = false;
    let args: Vec<String> = std::env::args_os()
        .map(|a| {
            let a = a.to_string_lossy();
            // A proxy URL may have no scheme (user:password@host:port).
            if std::mem::replace(&mut after_proxy, a == "--proxy") {
                return solo_http::redact_proxy(&a).into_owned();
            }
            if let Some(proxy) = a.strip_prefix("--proxy=") {
                return format!("--proxy={}", solo_http::redact_proxy(proxy));
            }
            let a = solo_crawl::secrets::redact_header_arg(&a);
            // URL credentials (start URLs) masked too.
            solo_crawl::secrets::redact_text(&a).into_owned()
        })
        .collect();
    let mut w = WarcOutput::new(path);
    w.max_size = a.warc_max_size as u64;
    w.gzip_level = a.warc_gzip_level;
    w.keep_secrets = a.warc_keep_secrets;
    w.info = vec![
        ("http-header-user-agent".into(), cfg.user_agent.clone()),
        (
            "robots".into(),
            if cfg.obey_robots { "obey" } else { "ignore" }.into(),
        ),
        (
            "description".into(),
            solo_crawl::redact_text(&args.join(" ")).into_owned(),
        ),
    ];
    w
}

/// The URLs in `path` (`-`: stdin), one per line; blank lines and `#`
/// comments skipped. An error names `flag` and the file.
fn read_url_lines(path: &std::path::Path, flag: &str) -> Result<Vec<String>, String> {
    let lines = numbered_url_lines(path, flag)?;
    Ok(lines.into_iter().map(|(_, l)| l).collect())
}

/// Bad lines of a seed list told one by one at most (then how many more).
const BAD_LINES_TOLD: usize = 10;

/// The start URLs of a seed list (`--urls-file`), as `wget -i` reads
/// one: a line that is no URL to crawl is skipped with a warning naming
/// FILE:LINE and why (the first [`BAD_LINES_TOLD`], then how many more,
/// then the count); a list without one good URL is an error.
fn seed_file_urls(path: &std::path::Path, flag: &str) -> Result<(Vec<String>, usize), String> {
    let lines = numbered_url_lines(path, flag)?;
    let file = path.display();
    let (mut good, mut bad) = (Vec::with_capacity(lines.len()), 0usize);
    for (n, line) in lines {
        match parse_seed(&line) {
            Ok(_) => good.push(line),
            Err(Usage(why)) => {
                bad += 1;
                if bad <= BAD_LINES_TOLD {
                    tell!("solo-crawl: warning: {flag} {file}:{n}: {why}; line skipped");
                }
            }
        }
    }
    if bad > BAD_LINES_TOLD {
        tell!(
            "solo-crawl: warning: {flag} {file}: and {} more bad line(s)",
            bad - BAD_LINES_TOLD
        );
    }
    if good.is_empty() {
        return Err(format!(
            "{flag} {file}: no URL to crawl in it ({bad} bad line(s)); one http:// or https:// URL per line"
        ));
    }
    if bad > 0 {
        tell!(
            "solo-crawl: warning: {flag} {file}: skipped {bad} bad line(s), crawling from its {} URL(s)",
            good.len()
        );
    }
    Ok((good, bad))
}

/// The non-blank, non-comment lines of `path` (`-`: stdin), trimmed,
/// with their line numbers (from 1).
fn numbered_url_lines(path: &std::path::Path, flag: &str) -> Result<Vec<(usize, String)>, String> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    let r = if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes))
    };
    r.map_err(|e| format!("{flag} {}: {e}", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "{flag} {}: not UTF-8 text (byte {}): one URL per line, in UTF-8",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })?;
    // A byte order mark (Windows editors write one) is no URL.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    Ok(text
        .lines()
        .map(str::trim)
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i + 1, l.to_owned()))
        .collect())
}

/// Where `--output` sends records: `-` is stdout; none is `default`.
fn output_target(output: Option<PathBuf>, default: Target) -> Target {
    match output {
        Some(p) if p.as_os_str() == "-" => Target::Stdout,
        Some(p) => Target::File(p),
        None => default,
    }
}

/// The command line, with a `--config` file's settings under the flags.
fn parse_cli() -> Result<Cli, Usage> {
    let mut cli = parse_cli_args()?;
    redis_from_env(&mut cli)?;
    Ok(cli)
}

/// `crawl --redis` without a URL: the one in SOLO_CRAWL_REDIS (as
/// `worker`, `status`, `push` and `delete` take it), so the password
/// stays out of `ps` for the whole crawl.
fn redis_from_env(cli: &mut Cli) -> Result<(), Usage> {
    let (Command::Crawl(a) | Command::ShowConfig { crawl: a, .. }) = &mut cli.command else {
        return Ok(());
    };
    if a.redis.as_deref() != Some("") {
        return Ok(());
    }
    match std::env::var("SOLO_CRAWL_REDIS") {
        Ok(url) if !url.is_empty() => {
            a.redis = Some(url);
            Ok(())
        }
        _ => Err(Usage(
            "--redis without a URL takes it from the environment variable SOLO_CRAWL_REDIS, \
             which is not set: set it, or give --redis URL"
                .into(),
        )),
    }
}

fn parse_cli_args() -> Result<Cli, Usage> {
    let matches = Cli::command()
        .try_get_matches()
        .unwrap_or_else(|e| usage_exit(e));
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| usage_exit(e));
    let (Command::Crawl(a) | Command::ShowConfig { crawl: a, .. }) = &cli.command else {
        return Ok(cli);
    };
    let Some((sub, m)) = matches.subcommand() else {
        return Ok(cli);
    };
    let Some(file) = &a.config else {
        format_from_output(&mut cli, m);
        return Ok(cli);
    };
    let given = |id: &str| m.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    let from_file = settings::read_file_flags(file, given).map_err(Usage)?;
    // Subcommands come first: `solo-crawl crawl ...`.
    let args: Vec<OsString> = std::env::args_os().skip(2).collect();
    let mut all = vec![OsString::from("solo-crawl"), OsString::from(sub)];
    all.extend(from_file.around(args));
    let matches = Cli::command()
        .try_get_matches_from(all)
        .unwrap_or_else(|e| usage_exit(e));
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| usage_exit(e));
    if let Some((_, m)) = matches.subcommand() {
        format_from_output(&mut cli, m);
    }
    Ok(cli)
}

/// Exits on a command line clap refused (status 2), or after `--help` /
/// `--version` (status 0). With `--log-format json` among the arguments
/// (and no `--log-file`), the refusal is one JSON line on stderr like
/// every other message, so a log shipper reads it.
fn usage_exit(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    let json = {
        let args: Vec<String> = std::env::args().collect();
        let wants = args
            .windows(2)
            .any(|w| w[0] == "--log-format" && w[1] == "json")
            || args.iter().any(|a| a == "--log-format=json");
        wants
            && !args
                .iter()
                .any(|a| a == "--log-file" || a.starts_with("--log-file="))
    };
    if !json || matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        e.exit();
    }
    solo_crawl::logs::messages_as(solo_crawl::logs::LogFormat::Json, None);
    let text = e.render().to_string();
    let text = text.trim_start_matches("error: ").trim_end();
    tell!("solo-crawl: {text}");
    std::process::exit(2);
}

/// `--output pages.csv` without `--format` writes CSV (as `-o` does in
/// Scrapy; item feeds go by their extension too).
fn format_from_output(cli: &mut Cli, m: &clap::ArgMatches) {
    let (Command::Crawl(a) | Command::ShowConfig { crawl: a, .. }) = &mut cli.command else {
        return;
    };
    let given = m.value_source("format") == Some(clap::parser::ValueSource::CommandLine);
    if !given {
        a.settings.format = format_of(a.settings.output.as_deref(), a.settings.format);
    }
}

/// The record format an output file's name says (`.csv`; `.jsonl`,
/// `.jl`, `.ndjson`), else `otherwise`.
fn format_of(output: Option<&std::path::Path>, otherwise: Format) -> Format {
    let ext = output
        .and_then(|o| o.extension())
        .map(|e| e.to_ascii_lowercase());
    match ext.as_ref().and_then(|e| e.to_str()) {
        Some("csv") => Format::Csv,
        Some("jsonl" | "jl" | "ndjson") => Format::Jsonl,
        _ => otherwise,
    }
}

fn main() -> ExitCode {
    // A file past `ulimit -f` is a write error (EFBIG) with a message
    // naming the file and what to do, not a silent death by SIGXFSZ.
    let _ = signal_hook::flag::register(
        signal_hook::consts::SIGXFSZ,
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    );
    // A broad crawl holds a socket per request in flight and per idle
    // connection, plus output files: the soft limit on open files
    // (often 1024) goes up to the hard one, as Go programs do at start.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let mut cli = match parse_cli() {
        Ok(c) => c,
        Err(Usage(msg)) => {
            tell!("solo-crawl: {msg}");
            return ExitCode::from(2);
        }
    };
    // Messages before the logs start are JSON lines too, if logs are.
    match &cli.command {
        Command::Crawl(a) => {
            let o = &a.settings.observability;
            solo_crawl::logs::messages_as(o.log_format, o.log_file.as_deref());
        }
        Command::Worker(w) => {
            let o = &w.observability;
            solo_crawl::logs::messages_as(o.log_format, o.log_file.as_deref());
        }
        _ => {}
    }
    if let Command::Crawl(a) | Command::ShowConfig { crawl: a, .. } = &mut cli.command {
        if let Some(file) = &a.urls_file {
            match seed_file_urls(file, "--urls-file") {
                Ok((more, bad)) => {
                    a.settings.urls.extend(more);
                    a.bad_seed_lines = bad;
                }
                Err(msg) => {
                    tell!("solo-crawl: {msg}");
                    return ExitCode::from(2);
                }
            }
        }
    }
    match cli.command {
        Command::Crawl(a) if a.redis.is_some() => shared::start(&a),
        Command::Crawl(a) => crawl(&a, None),
        Command::Worker(w) => shared::worker(&w),
        Command::Status { shared: s, json } => shared::status(&s, json),
        Command::Delete { shared: s, force } => shared::delete(&s, force),
        Command::Push {
            shared: s,
            urls,
            from_file,
        } => shared::push(&s, urls, from_file.as_deref()),
        Command::ShowConfig { crawl, .. } => show_config(&crawl),
        Command::Demo {
            pages,
            output,
            format,
        } => {
            // `--output x.csv` is CSV unless --format says otherwise.
            let format = format.unwrap_or_else(|| format_of(output.as_deref(), Format::Jsonl));
            demo(pages, output, format)
        }
        Command::Bench {
            seconds,
            concurrency,
        } => bench(seconds, concurrency as usize),
    }
}

fn show_config(a: &CrawlArgs) -> ExitCode {
    match a.settings.to_toml() {
        Ok(t) => {
            say!("{t}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tell!("solo-crawl: {e}");
            ExitCode::from(2)
        }
    }
}

/// A crawl of this process; `link` (a shared crawl's worker) brings
/// stops from outside the loop and passes them on to child workers.
fn crawl(a: &CrawlArgs, link: Option<&worker_processes::Link>) -> ExitCode {
    let s = &a.settings.observability;
    if let Err(e) = solo_crawl::logs::init(s.log_level, s.log_format, s.log_file.as_deref()) {
        tell!("solo-crawl: {e}");
        return ExitCode::from(2);
    }
    let (seeds, cfg, out) = match crawl_config(a) {
        Ok(v) => v,
        Err(Usage(msg)) => {
            tell!("solo-crawl: {msg}");
            return ExitCode::from(2);
        }
    };
    // A stats file that cannot be written fails now, not after the crawl.
    if let Some(path) = &s.stats_file {
        if let Err(e) = stats_file_ready(path) {
            tell!("solo-crawl: --stats-file {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    let crawler = Crawler::new(LinkSpider::new(seeds), cfg).output(out);
    let summary = match run_crawl(crawler, link) {
        Ok(s) => s,
        Err(e) => {
            tell!("solo-crawl: {e}");
            return ExitCode::from(1);
        }
    };
    // The files first: a stderr that is gone must not lose them.
    let stats_written = s.stats_file.as_ref().map(|path| {
        let json = serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n";
        write_stats_file(path, &json).map_err(|e| format!("--stats-file {}: {e}", path.display()))
    });
    solo_crawl::logs::set_quiet(s.quiet);
    solo_crawl::logs::summary(format_args!("{summary}"));
    if let Some(Err(e)) = stats_written {
        tell!("solo-crawl: {e}");
        return ExitCode::from(1);
    }
    if let Some(id) = &a.crawl_id {
        tell!(
            "solo-crawl: these are this worker's statistics (its --stats-file and --metrics \
             too); the whole crawl's: solo-crawl status --redis URL --crawl-id {id}"
        );
        // The start URLs may have been fetched by other workers: the
        // crawl that seeded them judges them once the crawl is finished
        // (shared_cli's `seeds_outcome`). A worker that waits for pushed
        // URLs (--idle-timeout) ends by a signal: that is its normal end,
        // not a failure (its leases go back).
        return if summary.interrupted && summary.stopped_by.is_none() && a.idle_timeout.is_none() {
            ExitCode::from(130)
        } else if a.settings.fail_on_broken && summary.counts.broken > 0 {
            tell!(
                "solo-crawl: this worker found {} broken page(s) (--fail-on-broken)",
                summary.counts.broken
            );
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        };
    }
    if let (Some(file), n @ 1..) = (&a.urls_file, a.bad_seed_lines) {
        tell!(
            "solo-crawl: {n} bad line(s) of --urls-file {} were skipped (named before the crawl)",
            file.display()
        );
    }
    finish(
        &summary,
        a.recrawl,
        a.settings.state.is_some(),
        a.settings.fail_on_broken,
    )
}

/// The `--stats-file` is not a regular file to replace (`/dev/stdout`, a
/// FIFO): it is written to as it is.
fn stats_file_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file())
}

/// Where the `--stats-file` is written before it is renamed into place:
/// beside it (one file system), named after it and this process.
fn stats_file_temp(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Checks at the start that the `--stats-file` can be written at the
/// end (the file itself, if it is there, and a file beside it), leaving
/// what it holds as it is: a run killed before its end leaves the last
/// good statistics, not an empty file.
fn stats_file_ready(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        std::fs::OpenOptions::new().append(true).open(path)?;
    }
    if !stats_file_special(path) {
        let temp = stats_file_temp(path);
        std::fs::File::create_new(&temp)?;
        std::fs::remove_file(&temp)?;
    }
    Ok(())
}

/// Writes the `--stats-file`: a regular file is replaced whole (written
/// beside it, then renamed over it), so that a reader, or a kill, never
/// sees it half written.
fn write_stats_file(path: &Path, json: &str) -> std::io::Result<()> {
    if stats_file_special(path) {
        return std::fs::write(path, json);
    }
    let temp = stats_file_temp(path);
    let written = std::fs::write(&temp, json).and_then(|()| std::fs::rename(&temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// Runs a crawl to its end; a second Ctrl-C (the library then calls
/// [`StopHandle::hurry`](solo_crawl::StopHandle::hurry)) exits with
/// status 130 at once: the program decides that, not the library. With a
/// `link`, stops come from it too, and go on to the child workers.
fn run_crawl(
    crawler: Crawler<LinkSpider>,
    link: Option<&worker_processes::Link>,
) -> Result<Summary, solo_crawl::CrawlError> {
    let stop = crawler.stop_handle();
    let link = link.cloned();
    solo::run(async move {
        if let Some(l) = &link {
            solo::spawn(l.clone().watch(stop.clone()));
        }
        let (hurried, children) = (stop.clone(), link.clone());
        solo::spawn(async move {
            hurried.hurried().await;
            say_hurried(children.as_ref());
            std::process::exit(130);
        });
        let summary = crawler.run().await;
        // Hurried, and the crawl returned before the task above ran: the
        // same words, then the summary (its outputs are flushed) and 130.
        if stop.is_hurried() {
            say_hurried(link.as_ref());
        }
        // A stop the watch had no time to see (the crawl ended first).
        if let (Some(l), true) = (&link, worker_processes::stopped_from_outside(&stop)) {
            l.pass_on(1);
        }
        summary
    })
}

/// A second Ctrl-C, SIGTERM or SIGHUP: passed on to the child workers,
/// and said.
fn say_hurried(children: Option<&worker_processes::Link>) {
    if let Some(l) = children {
        l.pass_on(2);
    }
    tell!("second Ctrl-C, SIGTERM or SIGHUP: exiting now");
}

/// The exit code for a finished crawl: 1 if no start URL could be
/// fetched (or answered below 400), 130 if interrupted, 1 with
/// `fail_on_broken` if a page is broken.
fn finish(summary: &Summary, recrawl: bool, resumable: bool, fail_on_broken: bool) -> ExitCode {
    for f in &summary.seeds_failed {
        tell!("solo-crawl: start URL failed: {f}");
    }
    match (summary.resumed, recrawl, summary.new_pass) {
        (true, true, true) => {
            tell!("solo-crawl: went over the crawl kept in the state directory (--recrawl)")
        }
        (true, true, false) => tell!(
            "solo-crawl: finished the earlier pass over the crawl kept in the state directory, \
             which had been stopped before it was done; run --recrawl again for a new pass"
        ),
        (true, false, _) => tell!("solo-crawl: resumed the crawl kept in the state directory"),
        _ => {}
    }
    // A limit that stopped the crawl may have left start URLs untried
    // (a slice of a --state crawl): not a failed crawl.
    let stopped =
        summary.stopped_by.is_some() || summary.filtered.get("max_pages").is_some_and(|&n| n > 0);
    if summary.seeds_ok == 0 && !summary.interrupted && !summary.resumed && !stopped {
        tell!("solo-crawl: no start URL could be fetched");
        let robots = summary.filtered.get("robots").copied().unwrap_or(0);
        if robots > 0 {
            tell!("solo-crawl: robots.txt disallowed {robots} URL(s) (--ignore-robots to crawl anyway)");
        }
        return ExitCode::from(1);
    }
    if let Some(limit) = &summary.stopped_by {
        tell!(
            "solo-crawl: stopped by --{} with {} requests left queued{}",
            limit.replace('_', "-"),
            summary.queued,
            if resumable {
                " (the same command with the same --state goes on)"
            } else {
                ""
            }
        );
        return ExitCode::SUCCESS;
    }
    if summary.interrupted {
        return ExitCode::from(130);
    }
    if fail_on_broken && summary.counts.broken > 0 {
        tell!(
            "solo-crawl: {} broken page(s): an error or a 4xx/5xx status (--fail-on-broken)",
            summary.counts.broken
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

fn demo(pages: u64, output: Option<PathBuf>, format: Format) -> ExitCode {
    let site = match DemoSite::start(pages) {
        Ok(s) => s,
        Err(e) => {
            tell!("solo-crawl: cannot start the demo site: {e}");
            return ExitCode::from(1);
        }
    };
    sayln!(
        "demo site: {} ({pages} pages, some slow, some 404/500, robots.txt disallows /private/)",
        site.url()
    );
    sayln!("crawling it with 64 requests in flight...");
    let target = output_target(output, Target::Discard);
    let cfg = Config {
        concurrency: 64,
        per_host: 64,
        handle_ctrl_c: true,
        progress: true,
        ..Config::default()
    };
    let crawler = Crawler::new(LinkSpider::new(vec![site.url()]), cfg).output(OutputConfig {
        pages: target,
        items: Target::Discard,
        format,
        ..OutputConfig::default()
    });
    match run_crawl(crawler, None) {
        Ok(summary) => {
            say!("{summary}");
            let expected = solo_crawl::demo_site::demo_reachable(pages).len() as u64;
            if !summary.interrupted {
                sayln!(
                    "reachable    {expected} pages; crawled {} ({})",
                    summary.counts.pages,
                    if summary.counts.pages == expected {
                        "all of them"
                    } else {
                        "MISMATCH"
                    }
                );
            }
            finish(&summary, false, false, false)
        }
        Err(e) => {
            tell!("solo-crawl: {e}");
            ExitCode::from(1)
        }
    }
}

fn bench(seconds: u64, concurrency: usize) -> ExitCode {
    // More pages than any run can fetch, generated on the fly.
    let site = match DemoSite::start(100_000_000) {
        Ok(s) => s,
        Err(e) => {
            tell!("solo-crawl: cannot start the demo site: {e}");
            return ExitCode::from(1);
        }
    };
    sayln!(
        "bench: crawling the demo site {} for {seconds} s, {concurrency} in flight",
        site.url()
    );
    let cfg = Config {
        concurrency,
        per_host: concurrency,
        max_retries: 0,
        ..Config::default()
    };
    let crawler = Crawler::new(LinkSpider::new(vec![site.url()]), cfg);
    let stop = crawler.stop_handle();
    let result = solo::run(async move {
        let timer = solo::spawn(async move {
            solo::sleep(Duration::from_secs(seconds)).await;
            stop.stop();
        });
        let r = crawler.run().await;
        timer.cancel();
        r
    });
    match result {
        Ok(summary) => {
            say!("{summary}");
            sayln!(
                "bench: {:.0} pages/s ({} pages in {:.2} s)",
                summary.pages_per_sec,
                summary.counts.pages,
                summary.seconds
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            tell!("solo-crawl: {e}");
            ExitCode::from(1)
        }
    }
}
