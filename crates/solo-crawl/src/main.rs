//! `solo-crawl`: crawl sites from the command line, run the demo, or
//! benchmark the crawler against the built-in demo site.

/// The binary's allocator: see the `jemalloc` feature in Cargo.toml.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use solo_crawl::demo_site::DemoSite;
use solo_crawl::settings::{self, CrawlSettings, Observability};
use solo_crawl::{Config, Crawler, Format, LinkSpider, OutputConfig, Summary, Target, WarcOutput};

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

mod cli_config;
mod shared_cli;
mod stats_file;
mod worker_processes;

use cli_config::{
    crawl_config, header_file, output_target, parse_seed, read_url_lines, seed_file_urls,
};
use shared_cli as shared;
use stats_file::{stats_file_ready, write_stats_file};

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
