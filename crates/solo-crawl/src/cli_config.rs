//! From the command line to a crawl's configuration.
//!
//! Owns: turning `crawl`'s flags (and a `--config` file's settings under
//! them) into the start URLs, the library's [`Config`] and its
//! [`OutputConfig`]: start URLs and seed lists (`--urls-file`),
//! `--header`, certificates, allow/deny regexes, `--warc` and where
//! `--output` goes; each bad value is a [`Usage`] error that names its
//! flag. Must not: start anything (no crawl, no I/O but reading the files
//! the flags name).

use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use solo_crawl::settings::CrawlSettings;
use solo_crawl::{
    AutoThrottle, Config, FrontierBackend, OutputConfig, RedisFrontier, Target, WarcOutput,
};
use url::Url;

use crate::{CrawlArgs, Usage};

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
pub(crate) fn header_file(path: &Path) -> Result<Vec<(String, String)>, Usage> {
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

/// A start URL from the command line: http or https, with a host that
/// passes the crawl's host check; errors mask a password in it.
pub(crate) fn parse_seed(raw: &str) -> Result<Url, Usage> {
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

/// `--allow`/`--deny` patterns; an error names `flag` and the pattern.
fn regexes(v: &[String], flag: &str) -> Result<Vec<Regex>, Usage> {
    v.iter()
        .map(|r| Regex::new(r).map_err(|e| Usage(format!("bad --{flag} regex {r:?}: {e}"))))
        .collect()
}

pub(crate) fn crawl_config(c: &CrawlArgs) -> Result<(Vec<Url>, Config, OutputConfig), Usage> {
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
pub(crate) fn read_url_lines(path: &std::path::Path, flag: &str) -> Result<Vec<String>, String> {
    let lines = numbered_url_lines(path, flag)?;
    Ok(lines.into_iter().map(|(_, l)| l).collect())
}

/// Bad lines of a seed list told one by one at most (then how many more).
const BAD_LINES_TOLD: usize = 10;

/// The start URLs of a seed list (`--urls-file`), as `wget -i` reads
/// one: a line that is no URL to crawl is skipped with a warning naming
/// FILE:LINE and why (the first [`BAD_LINES_TOLD`], then how many more,
/// then the count); a list without one good URL is an error.
pub(crate) fn seed_file_urls(
    path: &std::path::Path,
    flag: &str,
) -> Result<(Vec<String>, usize), String> {
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
pub(crate) fn output_target(output: Option<PathBuf>, default: Target) -> Target {
    match output {
        Some(p) if p.as_os_str() == "-" => Target::Stdout,
        Some(p) => Target::File(p),
        None => default,
    }
}
