//! `solo-crawl`: crawl sites from the command line, run the demo, or
//! benchmark the crawler against the built-in demo site.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use regex::Regex;
use solo_crawl::demo_site::DemoSite;
use solo_crawl::{
    AutoThrottle, Config, Crawler, Format, LinkSpider, OutputConfig, Summary, Target, WarcOutput,
};
use url::Url;

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
    /// Start a synthetic site on 127.0.0.1 and crawl it (no network needed).
    Demo {
        /// Pages on the demo site.
        #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        pages: u64,
        /// Write the page records here (default: nowhere; `-`: stdout).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Output format.
        #[arg(long, default_value = "jsonl")]
        format: Format,
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

#[derive(clap::Args)]
struct CrawlArgs {
    /// Start URLs (http:// or https://); optional with --sitemap.
    #[arg(required_unless_present = "sitemap", value_name = "URL")]
    urls: Vec<String>,
    /// Follow links at most this deep (start URLs are depth 0).
    #[arg(long)]
    depth: Option<u32>,
    /// Stop after this many pages.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    max_pages: Option<u64>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=100000))]
    concurrency: u64,
    /// Requests in flight at once per host.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=100000))]
    per_host: u64,
    /// Pause between requests to one host, in milliseconds (jittered
    /// 0.5-1.5x; at most a day).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=86_400_000))]
    delay: u64,
    /// Adapt each host's pause to its latency and slow down on 429/503
    /// (Scrapy's AutoThrottle; starts at 1 s per host, at most 60 s).
    #[arg(long)]
    autothrottle: bool,
    /// With --autothrottle: requests to keep in flight per host on average
    /// (above 0, at most 100000; below 1 spaces requests by more than the
    /// latency).
    #[arg(long, default_value_t = 1.0, value_name = "N")]
    autothrottle_target: f64,
    /// Also follow links to this domain and its subdomains (repeatable).
    #[arg(long = "allow-domain", value_name = "DOMAIN")]
    allow_domain: Vec<String>,
    /// Follow only URLs matching this regex (repeatable: any of them).
    #[arg(long, value_name = "REGEX")]
    allow: Vec<String>,
    /// Skip URLs matching this regex (repeatable).
    #[arg(long, value_name = "REGEX")]
    deny: Vec<String>,
    /// Do not fetch or obey robots.txt, nor the nofollow of
    /// <meta name="robots"> and X-Robots-Tag (still recorded).
    #[arg(long)]
    ignore_robots: bool,
    /// Do not follow links marked rel="nofollow" (followed by default;
    /// a page whose <meta name="robots"> or X-Robots-Tag says nofollow
    /// has none of its links followed unless --ignore-robots).
    #[arg(long)]
    skip_nofollow_links: bool,
    /// Follow a <meta http-equiv="refresh"> like a redirect (through
    /// the same rules, counted in --max-redirects) when its delay is at
    /// most this many seconds (Scrapy's METAREFRESH_MAXDELAY); a refresh
    /// to the page itself is never followed.
    #[arg(long, default_value_t = 100.0, value_name = "S")]
    max_refresh_delay: f64,
    /// Do not follow <meta http-equiv="refresh">.
    #[arg(long)]
    no_meta_refresh: bool,
    /// Also crawl the sitemaps listed (Sitemap: lines) in the start
    /// hosts' robots.txt, and the pages they list.
    #[arg(long)]
    sitemaps: bool,
    /// Crawl this sitemap (index, urlset, .xml.gz, or a robots.txt URL
    /// for its Sitemap: lines) and the pages it lists (repeatable).
    #[arg(long, value_name = "URL")]
    sitemap: Vec<String>,
    /// Page URLs taken from all sitemaps at most (each sitemap is also
    /// cut at 50,000 URLs and 50 MiB decompressed, indexes at 2 levels of
    /// nesting; cuts are counted in the summary).
    #[arg(long, default_value_t = 5_000_000, value_name = "N")]
    sitemap_max_urls: u64,
    /// Seconds one request may take, each redirect hop a request (0.001 to
    /// 86400). Time the crawler itself was stalled past the deadline is
    /// given back (up to S more).
    #[arg(long, default_value_t = 30.0, value_name = "S")]
    timeout: f64,
    /// Largest body accepted, in bytes (suffixes K, M, G allowed; at most 16G).
    #[arg(long, default_value = "64M", value_parser = parse_size)]
    max_bytes: usize,
    /// Redirects followed in a row (0: none). A redirect's target is
    /// crawled as a new request, so scope, robots.txt, the seen set,
    /// --max-pages and the host's limits apply to it; the redirect's
    /// record has `redirect_to`, the target's `redirected_from`.
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100))]
    max_redirects: u32,
    /// Bytes of response bodies held in memory at once, over all requests
    /// (suffixes K, M, G; default 256M, or --max-bytes if that is larger).
    /// A download that would go over waits for others to finish.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_buffered: Option<usize>,
    /// Follow at most this many links of one page (the first ones); a page
    /// with more gets "truncated":["links"] in its record.
    #[arg(long, default_value_t = 10_000, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=10_000_000))]
    max_links_per_page: u64,
    /// Cut text fields of page records (URLs, title, content type, error)
    /// to this many characters; a cut field is named in the record's
    /// "truncated" list.
    #[arg(long, default_value_t = 8192, value_name = "N", value_parser = clap::value_parser!(u64).range(16..=1 << 30))]
    max_field_chars: u64,
    /// CSV: write cells as they are. By default a cell starting with
    /// = + - @ (or tab, CR) gets a leading ' so spreadsheets do not run it
    /// as a formula, and control characters become U+FFFD.
    #[arg(long)]
    csv_raw: bool,
    /// The User-Agent header (its first word is the robots.txt agent).
    #[arg(long)]
    user_agent: Option<String>,
    /// Also trust the CA certificate(s) in this file (PEM or DER) for
    /// https:// (repeatable).
    #[arg(long = "ca-cert", value_name = "FILE")]
    ca_cert: Vec<PathBuf>,
    /// DANGEROUS: accept any TLS certificate (self-signed, expired, another
    /// host's), like curl's --insecure; for testing local servers only.
    #[arg(long)]
    insecure: bool,
    /// Also allow connections to this network (CIDR like 10.20.0.0/16, or
    /// one address), repeatable. By default the crawl never connects to
    /// loopback, private, link-local (cloud metadata), carrier-grade NAT or
    /// other non-public addresses, wherever links, redirects or DNS point,
    /// except in the networks its start URLs resolve to.
    #[arg(long = "allow-network", value_name = "CIDR", value_parser = parse_network)]
    allow_network: Vec<solo_http::IpNet>,
    /// Never connect to this network (CIDR or one address), repeatable;
    /// it wins over the start URLs' networks and over a less specific
    /// --allow-network.
    #[arg(long = "deny-network", value_name = "CIDR", value_parser = parse_network)]
    deny_network: Vec<solo_http::IpNet>,
    /// Turn the private-network guard off: connect to any address
    /// (--deny-network still applies). Only for crawls of trusted sites.
    #[arg(long)]
    allow_private_networks: bool,
    /// Keep cookies: what a response sets (Set-Cookie) is sent back on
    /// later requests, as a browser would (one jar for the crawl).
    #[arg(long)]
    cookies: bool,
    /// Write records here instead of stdout: a file is appended to (never
    /// cut, except with --state: what a killed run wrote after its last
    /// checkpoint); `-` is stdout; /dev/null, a pipe or a FIFO work too.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output format.
    #[arg(long, default_value = "jsonl")]
    format: Format,
    /// Keep the crawl's state here (SQLite) and resume from it: rerun the
    /// same command after a crash or Ctrl-C to continue. Each record is
    /// written to an --output file once, even across kill -9. One crawl
    /// per directory at a time; a damaged state is an error.
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// With --state: discard the state kept in DIR and start the crawl over
    /// (the output file is still appended to).
    #[arg(long, requires = "state")]
    state_reset: bool,
    /// Also archive every exchange (pages, redirects, robots.txt,
    /// sitemaps, error answers) as WARC/1.1 files named after FILE:
    /// crawl.warc.gz writes crawl-00000.warc.gz, crawl-00001.warc.gz, ...
    /// (each record a gzip member of its own when FILE ends in .gz). Each
    /// run, resumed or not, starts at the next free number.
    #[arg(long, value_name = "FILE")]
    warc: Option<PathBuf>,
    /// With --warc: start the next file before one would pass SIZE
    /// (suffixes K, M, G).
    #[arg(long, default_value = "1G", value_name = "SIZE", value_parser = parse_size)]
    warc_max_size: usize,
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
    recrawl_older_than: Option<std::time::Duration>,
    /// With --state: requests kept in memory at most (the rest wait in the
    /// store).
    #[arg(long, default_value_t = 100_000, hide = true, value_parser = clap::value_parser!(u64).range(1..))]
    frontier_cap: u64,
}

/// The largest size option accepted (16 GiB).
const MAX_SIZE: usize = 16 << 30;

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

/// A usage error: message and exit code 2.
struct Usage(String);

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
    Ok(u)
}

/// The DER certificates in a PEM or DER file.
fn read_certs(path: &std::path::Path) -> Result<Vec<Vec<u8>>, Usage> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let bad = |e: &dyn std::fmt::Display| Usage(format!("--ca-cert {}: {e}", path.display()));
    let data = std::fs::read(path).map_err(|e| bad(&e))?;
    if !data.windows(10).any(|w| w == b"-----BEGIN") {
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

fn crawl_config(a: &CrawlArgs) -> Result<(Vec<Url>, Config, OutputConfig), Usage> {
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
        delay: Duration::from_millis(a.delay),
        autothrottle: a.autothrottle.then(|| AutoThrottle {
            target_concurrency: a.autothrottle_target,
            ..AutoThrottle::default()
        }),
        depth_limit: a.depth,
        max_pages: a.max_pages,
        allow_domains: a.allow_domain.clone(),
        allow: regexes(&a.allow, "allow")?,
        deny: regexes(&a.deny, "deny")?,
        obey_robots: !a.ignore_robots,
        timeout: Duration::from_secs_f64(a.timeout),
        max_bytes: a.max_bytes,
        max_redirects: a.max_redirects,
        max_refresh_delay: (!a.no_meta_refresh)
            .then(|| Duration::from_secs_f64(a.max_refresh_delay.min(1e9))),
        skip_nofollow_links: a.skip_nofollow_links,
        sitemaps: a.sitemaps,
        sitemap_urls,
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
        state_reset: a.state_reset,
        recrawl: a.recrawl.then_some(solo_crawl::Recrawl {
            older_than: a.recrawl_older_than,
        }),
        frontier_cap: a.frontier_cap as usize,
        allow_private_networks: a.allow_private_networks,
        allow_networks: a.allow_network.clone(),
        deny_networks: a.deny_network.clone(),
        ..Config::default()
    };
    if let Some(ua) = &a.user_agent {
        if ua.trim().is_empty() || ua.contains(['\r', '\n']) {
            return Err(Usage("--user-agent must be one non-empty line".into()));
        }
        cfg.user_agent = ua.clone();
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
fn warc_output(path: &std::path::Path, a: &CrawlArgs, cfg: &Config) -> WarcOutput {
    let args: Vec<String> = std::env::args().collect();
    let mut w = WarcOutput::new(path);
    w.max_size = a.warc_max_size as u64;
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

/// Where `--output` sends records: `-` is stdout; none is `default`.
fn output_target(output: Option<PathBuf>, default: Target) -> Target {
    match output {
        Some(p) if p.as_os_str() == "-" => Target::Stdout,
        Some(p) => Target::File(p),
        None => default,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crawl(a) => crawl(&a),
        Command::Demo {
            pages,
            output,
            format,
        } => demo(pages, output, format),
        Command::Bench {
            seconds,
            concurrency,
        } => bench(seconds, concurrency as usize),
    }
}

fn crawl(a: &CrawlArgs) -> ExitCode {
    let (seeds, cfg, out) = match crawl_config(a) {
        Ok(v) => v,
        Err(Usage(msg)) => {
            eprintln!("solo-crawl: {msg}");
            return ExitCode::from(2);
        }
    };
    let crawler = Crawler::new(LinkSpider::new(seeds), cfg).output(out);
    let summary = match run_crawl(crawler) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("solo-crawl: {e}");
            return ExitCode::from(1);
        }
    };
    eprint!("{summary}");
    finish(&summary)
}

/// Runs a crawl to its end; a second Ctrl-C (the library then calls
/// [`StopHandle::hurry`](solo_crawl::StopHandle::hurry)) exits with
/// status 130 at once: the program decides that, not the library.
fn run_crawl(crawler: Crawler<LinkSpider>) -> Result<Summary, solo_crawl::CrawlError> {
    let hurried = crawler.stop_handle();
    solo::run(async move {
        solo::spawn(async move {
            hurried.hurried().await;
            eprintln!("second Ctrl-C: exiting now");
            std::process::exit(130);
        });
        crawler.run().await
    })
}

/// The exit code for a finished crawl: 1 if no start URL could be
/// fetched, 130 if interrupted.
fn finish(summary: &Summary) -> ExitCode {
    for f in &summary.seeds_failed {
        eprintln!("solo-crawl: start URL failed: {f}");
    }
    if summary.resumed {
        eprintln!("solo-crawl: resumed the crawl kept in the state directory");
    }
    if summary.seeds_ok == 0 && !summary.interrupted && !summary.resumed {
        eprintln!("solo-crawl: no start URL could be fetched");
        let robots = summary.filtered.get("robots").copied().unwrap_or(0);
        if robots > 0 {
            eprintln!("solo-crawl: robots.txt disallowed {robots} URL(s) (--ignore-robots to crawl anyway)");
        }
        return ExitCode::from(1);
    }
    if summary.interrupted {
        return ExitCode::from(130);
    }
    ExitCode::SUCCESS
}

fn demo(pages: u64, output: Option<PathBuf>, format: Format) -> ExitCode {
    let site = match DemoSite::start(pages) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("solo-crawl: cannot start the demo site: {e}");
            return ExitCode::from(1);
        }
    };
    println!(
        "demo site: {} ({pages} pages, some slow, some 404/500, robots.txt disallows /private/)",
        site.url()
    );
    println!("crawling it with 64 requests in flight...");
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
    match run_crawl(crawler) {
        Ok(summary) => {
            print!("{summary}");
            let expected = solo_crawl::demo_site::demo_reachable(pages).len() as u64;
            if !summary.interrupted {
                println!(
                    "reachable    {expected} pages; crawled {} ({})",
                    summary.counts.pages,
                    if summary.counts.pages == expected {
                        "all of them"
                    } else {
                        "MISMATCH"
                    }
                );
            }
            finish(&summary)
        }
        Err(e) => {
            eprintln!("solo-crawl: {e}");
            ExitCode::from(1)
        }
    }
}

fn bench(seconds: u64, concurrency: usize) -> ExitCode {
    // More pages than any run can fetch, generated on the fly.
    let site = match DemoSite::start(100_000_000) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("solo-crawl: cannot start the demo site: {e}");
            return ExitCode::from(1);
        }
    };
    println!(
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
            print!("{summary}");
            println!(
                "bench: {:.0} pages/s ({} pages in {:.2} s)",
                summary.pages_per_sec, summary.counts.pages, summary.seconds
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("solo-crawl: {e}");
            ExitCode::from(1)
        }
    }
}
