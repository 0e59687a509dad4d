//! The command line of crawls shared through Redis: `crawl --redis`
//! (store the settings, then work), `worker` (read them, then work) and
//! `status`.
//!
//! Owns: the stored settings — the crawl's [`CrawlSettings`] as TOML (the
//! `--config` form), less what each worker sets for itself ([`Own`]:
//! output, WARC, logs, metrics, stats file), read back by every worker, so
//! all workers obey one set of rules — and starting `--workers N`
//! processes, worker i with its files numbered i and its metrics on port
//! PORT+i (how they start and stop together: `worker_processes`).
//! Must not: crawl itself (that is `crawl` with a Redis frontier).

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use solo_crawl::settings::{differences, CrawlSettings, Observability};

use super::worker_processes::Link;
use super::{crawl, crawl_config, CrawlArgs, SharedCrawl, Usage, WorkerArgs};

/// The settings stored with a crawl: `s` without what each worker sets
/// for itself (output file, state, logs, metrics, stats file, WARC file).
fn crawl_wide(s: &CrawlSettings) -> CrawlSettings {
    CrawlSettings {
        output: None,
        state: None,
        observability: Observability::default(),
        warc: None,
        proxy: None,
        noproxy: None,
        max_time: None,
        ..s.clone()
    }
}

/// What one worker sets for itself, over the crawl's stored settings.
#[derive(Clone, Default)]
struct Own {
    output: Option<PathBuf>,
    warc: Option<PathBuf>,
    observability: Observability,
    /// `--proxy` (each worker its own).
    proxy: Option<String>,
    /// `--noproxy` (each worker its own).
    noproxy: Option<String>,
    /// `--max-time` (each worker's own time, from its start).
    max_time: Option<Duration>,
    /// `worker --concurrency` (none: the crawl's).
    concurrency: Option<u64>,
    /// `--idle-timeout`.
    idle_timeout: Option<Duration>,
}

impl Own {
    /// Worker `i`'s of `--workers N`: its output (`output`), WARC, log
    /// and stats files with `i` in their names, its metrics on PORT+i
    /// (port 0: a port of its own). An error if PORT+i is no port.
    fn numbered(&self, output: &Path, i: u64) -> Result<Own, String> {
        let o = &self.observability;
        let metrics = match o.metrics {
            Some(a) if a.port() != 0 => {
                let port = u16::try_from(u64::from(a.port()) + i).map_err(|_| {
                    format!(
                        "--metrics {a}: worker {i} would listen on port {}+{i}, past 65535; \
                         choose a lower port, or port 0 (each worker picks one)",
                        a.port()
                    )
                })?;
                Some(SocketAddr::new(a.ip(), port))
            }
            m => m,
        };
        Ok(Own {
            output: Some(numbered(output, i)),
            warc: self.warc.as_ref().map(|w| numbered_warc(w, i)),
            observability: Observability {
                log_file: o.log_file.as_ref().map(|f| numbered(f, i)),
                stats_file: o.stats_file.as_ref().map(|f| numbered(f, i)),
                metrics,
                ..o.clone()
            },
            proxy: self.proxy.clone(),
            noproxy: self.noproxy.clone(),
            max_time: self.max_time,
            concurrency: self.concurrency,
            idle_timeout: self.idle_timeout,
        })
    }

    /// These options as `solo-crawl worker` flags (the proxy, which may
    /// hold a password, goes in the environment: see `run_workers`).
    fn flags(&self) -> Vec<OsString> {
        let o = &self.observability;
        let mut v: Vec<OsString> = vec![
            format!("--log-level={}", value_name(o.log_level)).into(),
            format!("--log-format={}", value_name(o.log_format)).into(),
            format!("--metrics-linger={}", o.metrics_linger).into(),
        ];
        v.extend(o.metrics.map(|m| format!("--metrics={m}").into()));
        v.extend(o.log_stats.map(|s| format!("--log-stats={s}").into()));
        v.extend(
            self.noproxy
                .as_ref()
                .map(|p| format!("--noproxy={p}").into()),
        );
        v.extend(
            self.max_time
                .map(|d| format!("--max-time={}s", d.as_secs().max(1)).into()),
        );
        v.extend(
            self.concurrency
                .map(|c| format!("--concurrency={c}").into()),
        );
        v.extend(self.idle_timeout.map(|d| match d {
            Duration::MAX => "--idle-timeout=never".into(),
            d => format!("--idle-timeout={}", d.as_secs()).into(),
        }));
        let files = [
            ("--output=", &self.output),
            ("--warc=", &self.warc),
            ("--log-file=", &o.log_file),
            ("--stats-file=", &o.stats_file),
        ];
        for (flag, path) in files {
            if let Some(p) = path {
                let mut f = OsString::from(flag);
                f.push(p);
                v.push(f);
            }
        }
        v
    }
}

/// The command-line name of an option's value (`info` for `LogLevel::Info`).
fn value_name(v: impl clap::ValueEnum) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_owned())
        .unwrap_or_default()
}

/// The name of the first `--header` given inline (not `@FILE`) whose
/// value is a credential: stored with the settings, it would sit in Redis
/// in clear.
fn inline_credential(headers: &[String]) -> Option<&str> {
    headers
        .iter()
        .filter(|h| !h.starts_with('@'))
        .filter_map(|h| h.split_once(':'))
        .map(|(name, _)| name.trim())
        .find(|name| solo_crawl::secrets::is_credential(name))
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    tell!("solo-crawl: {msg}");
    ExitCode::from(1)
}

/// A `--header @FILE` with FILE made absolute (from this directory), as
/// the crawl stores it: a worker started elsewhere finds the file at the
/// same path on its machine. Inline headers are kept as they are.
fn absolute_header_file(h: &str) -> String {
    match h.strip_prefix('@').map(Path::new) {
        Some(p) if p.is_relative() => match std::path::absolute(p) {
            Ok(abs) => format!("@{}", abs.display()),
            Err(_) => h.to_owned(),
        },
        _ => h.to_owned(),
    }
}

/// `crawl URL... --redis URL --crawl-id NAME`: stores the settings (or
/// finds the same ones there), then works on the crawl.
pub(crate) fn start(a: &CrawlArgs) -> ExitCode {
    if let Err(Usage(msg)) = crawl_config(a) {
        tell!("solo-crawl: {msg}");
        return ExitCode::from(2);
    }
    let (Some(url), Some(id)) = (&a.redis, &a.crawl_id) else {
        return fail("--redis needs --crawl-id");
    };
    if let Some(name) = inline_credential(&a.settings.header) {
        tell!(
            "solo-crawl: --header {name:?} holds a credential, and a --redis crawl keeps its \
             settings in Redis, readable by whoever can read Redis: put the header in a file \
             and pass --header @FILE (the crawl keeps the file's absolute path; each worker reads its \
             own copy)"
        );
        return ExitCode::from(2);
    }
    let mut ours = crawl_wide(&a.settings);
    ours.header = ours
        .header
        .iter()
        .map(|h| absolute_header_file(h))
        .collect();
    let toml = match ours.to_toml() {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    match solo_crawl::share_settings(url, id, &toml) {
        Ok(stored) if stored == toml => {}
        Ok(stored) => {
            let theirs = match CrawlSettings::from_toml(&stored, "the stored settings") {
                Ok(s) => crawl_wide(&s),
                Err(e) => {
                    return fail(format!(
                        "crawl {id:?} already exists in that Redis, with settings this \
                         solo-crawl cannot read ({e}): choose another --crawl-id"
                    ))
                }
            };
            // Every setting that differs, not only those that give the
            // crawl its meaning: all workers obey the stored ones.
            let diff = differences(&theirs.values(), &ours.values());
            if diff.iter().any(|d| d.starts_with("urls:")) {
                tell!(
                    "solo-crawl: to add URLs to crawl {id:?} as it runs: solo-crawl push \
                     --redis URL --crawl-id {id} URL... (or --from-file FILE)"
                );
            }
            if !diff.is_empty() && a.force {
                if let Err(e) = force_settings(url, id, &diff, &toml) {
                    return fail(e);
                }
            } else if !diff.is_empty() {
                return fail(format!(
                    "crawl {id:?} already exists in that Redis with other settings ({}): join \
                     it with `solo-crawl worker --redis URL --crawl-id {id}` (its own \
                     --concurrency, logs, metrics and files are per worker), --force to \
                     replace the settings that do not change what it crawls (politeness, \
                     concurrency, timeouts), or choose another --crawl-id",
                    diff.join("; ")
                ));
            }
        }
        Err(e) => return fail(e),
    }
    if let Ok(st) = solo_crawl::crawl_status(url, id) {
        if st.finished && a.idle_timeout.is_none() {
            // Its seen set would turn every start URL away: a run with
            // no page and exit 0 looked like a crawl of an empty site.
            return fail(format!(
                "crawl {id:?} is already finished in that Redis ({} pages; `solo-crawl status` \
                 shows it): to crawl again, choose a new --crawl-id, or first remove its keys \
                 with `solo-crawl delete --redis URL --crawl-id {id}`",
                st.pages
            ));
        }
    }
    let own = Own {
        output: a.settings.output.clone(),
        warc: a.settings.warc.clone(),
        observability: a.settings.observability.clone(),
        proxy: a.settings.proxy.clone(),
        noproxy: a.settings.noproxy.clone(),
        max_time: a.settings.max_time,
        concurrency: None,
        idle_timeout: a.idle_timeout,
    };
    let code = run_workers(url, id, &own, a.workers, &Link::default());
    if code != ExitCode::SUCCESS {
        return code;
    }
    seeds_outcome(url, id)
}

/// `crawl --redis --force` with settings that differ (`diff`) from the
/// stored ones: stores `toml` in their place when none of them changes
/// what the crawl fetches (those of [`MEANING`](solo_crawl::settings::MEANING):
/// its queue and seen set were made by them), and says that the workers
/// running now keep the old ones until restarted.
fn force_settings(url: &str, id: &str, diff: &[String], toml: &str) -> Result<(), String> {
    let meaning: Vec<&str> = diff
        .iter()
        .filter(|d| {
            let name = d.split_once(':').map_or(d.as_str(), |(n, _)| n);
            solo_crawl::settings::MEANING.contains(&name)
        })
        .map(String::as_str)
        .collect();
    if !meaning.is_empty() {
        return Err(format!(
            "crawl {id:?}: --force replaces only the settings that do not change what the \
             crawl fetches (--per-host, --delay, --concurrency, timeouts, retries, ...), and \
             these do ({}): its queue and seen set were made by the stored ones; choose \
             another --crawl-id for a crawl with them",
            meaning.join("; ")
        ));
    }
    solo_crawl::replace_settings(url, id, toml)?;
    tell!(
        "solo-crawl: crawl {id:?}: stored settings replaced ({}) (--force)",
        diff.join("; ")
    );
    let live = solo_crawl::crawl_status(url, id).map_or(0, |st| st.workers.len());
    if live > 0 {
        tell!(
            "solo-crawl: {live} worker(s) of crawl {id:?} running now keep the old settings \
             until restarted: stop them (Ctrl-C, SIGTERM) and start them again"
        );
    }
    Ok(())
}

/// The seeder's exit code for a crawl that ended well for its workers:
/// 1 if no start URL could be fetched (by whichever worker), as an
/// in-process crawl says. A crawl still running (this worker stopped by
/// --max-time) is not judged.
fn seeds_outcome(url: &str, id: &str) -> ExitCode {
    let Ok(st) = solo_crawl::crawl_status(url, id) else {
        return ExitCode::SUCCESS;
    };
    for f in &st.seed_failures {
        tell!("solo-crawl: start URL failed: {f}");
    }
    let untold = st
        .seeds_failed
        .saturating_sub(st.seed_failures.len() as u64);
    if untold > 0 {
        tell!("solo-crawl: ... and {untold} more start URL(s) failed");
    }
    let spent = st.max_pages.is_some_and(|m| st.written >= m);
    if !st.finished || spent || st.seeds_ok > 0 {
        return ExitCode::SUCCESS;
    }
    if st.seeds_failed > 0 {
        tell!("solo-crawl: no start URL could be fetched");
        return ExitCode::from(1);
    }
    // No start URL failed, yet none was fetched, nor any page: robots.txt
    // disallowed them (the pages it refuses leave no record).
    if st.pages == 0 {
        tell!(
            "solo-crawl: no start URL could be fetched: no page was (robots.txt may disallow \
             them: --ignore-robots to crawl anyway)"
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// `worker --redis URL --crawl-id NAME`.
pub(crate) fn worker(w: &WorkerArgs) -> ExitCode {
    let own = Own {
        output: w.output.clone(),
        warc: w.warc.clone(),
        observability: w.observability.clone(),
        proxy: w.proxy.clone(),
        noproxy: w.noproxy.clone(),
        max_time: w.max_time,
        concurrency: w.concurrency,
        idle_timeout: w.idle_timeout,
    };
    let (url, id) = (&w.shared.redis, &w.shared.crawl_id);
    if let Ok(st) = solo_crawl::crawl_status(url, id) {
        if st.finished && !w.parent_pipe && w.idle_timeout.is_none() {
            tell!(
                "solo-crawl: crawl {id:?} is already finished ({} pages): nothing left to fetch",
                st.pages
            );
            return ExitCode::SUCCESS;
        }
    }
    let link = Link::default();
    if w.parent_pipe {
        link.stop_when_stdin_closes();
    }
    run_workers(&w.shared.redis, &w.shared.crawl_id, &own, w.workers, &link)
}

/// `path` with `i` before its extension: pages.jsonl → pages.3.jsonl
/// (the name's bytes kept as they are, UTF-8 or not).
fn numbered(path: &Path, i: u64) -> PathBuf {
    let mut name = path.file_stem().unwrap_or_default().to_owned();
    name.push(format!(".{i}"));
    if let Some(e) = path.extension() {
        name.push(".");
        name.push(e);
    }
    path.with_file_name(name)
}

/// `path` of a `--warc` for worker `i` (see [`WarcOutput::worker_path`]).
fn numbered_warc(path: &Path, i: u64) -> PathBuf {
    crate::WarcOutput::new(path).worker_path(i)
}

/// Runs `n` workers: this process and `n - 1` children, each with its
/// files numbered and its metrics port (see [`Own::numbered`]); none
/// given: this process alone, with `own` as given. SIGINT or SIGTERM
/// stops them all gracefully (see [`Link`]), and this process returns
/// once its children have exited.
fn run_workers(url: &str, id: &str, own: &Own, n: Option<u64>, link: &Link) -> ExitCode {
    let Some(n) = n else {
        return run_one(url, id, own.clone(), link);
    };
    let Some(output) = own.output.clone().filter(|o| o.as_os_str() != "-") else {
        tell!("solo-crawl: --workers {n} needs --output FILE (worker i writes FILE with i before its extension)");
        return ExitCode::from(2);
    };
    let mut each = match (0..n)
        .map(|i| own.numbered(&output, i))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(v) => v.into_iter(),
        Err(e) => {
            tell!("solo-crawl: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(mine) = each.next() else {
        return ExitCode::SUCCESS; // n >= 1: never
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return fail(format!("cannot start workers: {e}")),
    };
    let relay = match link.relay_signals() {
        Ok(r) => r,
        Err(e) => {
            return fail(format!(
                "cannot start workers: cannot watch for SIGTERM: {e}"
            ))
        }
    };
    for (i, theirs) in (1..).zip(each) {
        let mut cmd = std::process::Command::new(&exe);
        // Passwords (the Redis URL's, the proxy's) go in the environment,
        // not on a command line that `ps` shows every user.
        cmd.args(["worker", "--crawl-id", id])
            .args(theirs.flags())
            .env("SOLO_CRAWL_REDIS", url);
        match &theirs.proxy {
            Some(p) => cmd.env("SOLO_CRAWL_PROXY", p),
            None => cmd.env_remove("SOLO_CRAWL_PROXY"),
        };
        if let Err(e) = link.start_child(i, cmd) {
            tell!("solo-crawl: cannot start worker {i}: {e}");
        }
    }
    let code = run_one(url, id, mine, link);
    match link.wait(relay) {
        false if code == ExitCode::SUCCESS => ExitCode::from(1),
        _ => code,
    }
}

/// One worker: the crawl's stored settings with this worker's own
/// options, crawled with the shared frontier.
fn run_one(url: &str, id: &str, own: Own, link: &Link) -> ExitCode {
    let stored = match stored_settings(url, id) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let origin = format!("the settings of crawl {id:?} in Redis");
    let settings = match CrawlSettings::from_toml(&stored, &origin) {
        Ok(s) => CrawlSettings {
            // This worker's --output file says its format (x.csv: CSV),
            // else the crawl's --format.
            format: super::format_of(own.output.as_deref(), s.format),
            output: own.output,
            observability: own.observability,
            warc: own.warc,
            proxy: own.proxy,
            noproxy: own.noproxy,
            max_time: own.max_time,
            concurrency: own.concurrency.unwrap_or(s.concurrency),
            ..s
        },
        Err(e) => return fail(format!("{e} (written by another solo-crawl version?)")),
    };
    let args = stored_crawl(settings, url, id, own.idle_timeout);
    // What this worker cannot use of the stored settings (a --header file
    // missing on this machine) is named as theirs, not as a flag it was
    // given.
    for h in &args.settings.header {
        if let Some(file) = h.strip_prefix('@') {
            if let Err(Usage(e)) = super::header_file(Path::new(file)) {
                return fail(format!("{origin}: {e}"));
            }
        }
    }
    crawl(&args, Some(link))
}

/// The arguments of one worker of crawl `id` with its stored `settings`.
fn stored_crawl(settings: CrawlSettings, url: &str, id: &str, idle: Option<Duration>) -> CrawlArgs {
    CrawlArgs {
        settings,
        config: None,
        state_reset: false,
        force: false,
        recrawl: false,
        recrawl_older_than: None,
        redis: Some(url.to_owned()),
        crawl_id: Some(id.to_owned()),
        workers: None,
        idle_timeout: idle,
        urls_file: None,
        bad_seed_lines: 0,
    }
}

/// How long a worker waits for its crawl to be stored (workers started
/// with, or just before, `crawl --redis`).
const WAIT_FOR_CRAWL: std::time::Duration = std::time::Duration::from_secs(5);

/// The crawl's stored settings, waiting a little for a crawl not stored
/// yet (said once); other errors at once.
fn stored_settings(url: &str, id: &str) -> Result<String, String> {
    let deadline = std::time::Instant::now() + WAIT_FOR_CRAWL;
    let mut said = false;
    loop {
        match solo_crawl::shared_settings(url, id)? {
            Some(s) => return Ok(s),
            None if std::time::Instant::now() < deadline => {
                if !said {
                    tell!("solo-crawl: waiting for crawl {id:?} to be started (`crawl --redis`)");
                    said = true;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            None => return Err(solo_crawl::no_such_crawl(url, id)),
        }
    }
}

/// `push --redis URL --crawl-id NAME URL... [--from-file FILE]`: the
/// URLs go through the crawl's stored rules into its queues.
pub(crate) fn push(s: &SharedCrawl, urls: Vec<String>, file: Option<&Path>) -> ExitCode {
    let (url, id) = (&s.redis, &s.crawl_id);
    let mut given = urls;
    if let Some(f) = file {
        match super::read_url_lines(f, "--from-file") {
            Ok(more) => given.extend(more),
            Err(e) => return fail(e),
        }
    }
    if given.is_empty() {
        tell!(
            "solo-crawl: push needs URLs: on the command line, or --from-file FILE (- for stdin)"
        );
        return ExitCode::from(2);
    }
    let stored = match solo_crawl::shared_settings(url, id) {
        Ok(Some(s)) => s,
        Ok(None) => return fail(solo_crawl::no_such_crawl(url, id)),
        Err(e) => return fail(e),
    };
    let origin = format!("the settings of crawl {id:?} in Redis");
    let settings = match CrawlSettings::from_toml(&stored, &origin) {
        Ok(s) => s,
        Err(e) => return fail(format!("{e} (written by another solo-crawl version?)")),
    };
    let (seeds, cfg, _) = match crawl_config(&stored_crawl(settings, url, id, None)) {
        Ok(c) => c,
        Err(Usage(e)) => return fail(format!("{origin}: {e}")),
    };
    let mut invalid = Vec::new();
    let requests: Vec<_> = given
        .iter()
        .filter_map(|raw| match super::parse_seed(raw) {
            Ok(u) => Some(solo_crawl::Request::new(u, solo_crawl::LinkCallback::Page)),
            Err(Usage(why)) => {
                invalid.push(why);
                None
            }
        })
        .collect();
    let crawler = solo_crawl::Crawler::new(solo_crawl::LinkSpider::new(seeds), cfg);
    let pushed = match solo::run(crawler.push(requests)) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    sayln!(
        "crawl {id:?}: {} queued, {} seen before, {} refused",
        pushed.queued,
        pushed.seen,
        pushed.refused.len() + invalid.len()
    );
    for why in &invalid {
        tell!("solo-crawl: refused: {why}");
    }
    let mut spent = false;
    if let Ok(st) = solo_crawl::crawl_status(url, id) {
        if let Some(max) = st
            .max_pages
            .filter(|&m| st.written >= m && pushed.queued > 0)
        {
            tell!(
                "solo-crawl: crawl {id:?} has written its --max-pages ({max}) page records: \
                 no worker will fetch what was queued"
            );
            spent = true;
        }
    }
    for (u, why) in &pushed.refused {
        let hint = match *why {
            "offsite" => " (outside the crawl's scope: its start hosts and --allow-domain)",
            "filtered" => " (the crawl's --allow/--deny patterns)",
            "parent" => " (above the start URLs' directories: --no-parent)",
            "max_pages" => " (the crawl's --max-pages are spent)",
            _ => "",
        };
        tell!("solo-crawl: refused {u}: {why}{hint}");
    }
    if pushed.refused.is_empty() && invalid.is_empty() && !spent {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `status --redis URL --crawl-id NAME`.
pub(crate) fn status(s: &SharedCrawl, json: bool) -> ExitCode {
    let st = match solo_crawl::crawl_status(&s.redis, &s.crawl_id) {
        Ok(st) => st,
        Err(e) => return fail(e),
    };
    // Settings no worker of this version can read stop every worker as
    // surely as lost counters: damaged too.
    let unreadable = match solo_crawl::shared_settings(&s.redis, &s.crawl_id) {
        Ok(Some(stored)) => CrawlSettings::from_toml(&stored, "its stored settings")
            .err()
            .map(|e| format!("{e} (written by another solo-crawl version?)")),
        _ => None,
    };
    if json {
        sayln!("{}", status_json(&st, unreadable.as_deref()));
    } else {
        say!("{st}");
        if let Some(why) = &unreadable {
            sayln!("settings     cannot be read by this solo-crawl: {why}");
        }
    }
    if st.damaged.is_some() || unreadable.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `status --json`: one object with what the text shows.
fn status_json(st: &solo_crawl::CrawlStatus, unreadable: Option<&str>) -> serde_json::Value {
    let state = match (&st.damaged, unreadable, st.finished, st.workers.len()) {
        (Some(_), _, _, _) | (None, Some(_), _, _) => "damaged",
        (None, None, false, _) => "running",
        (None, None, true, 0) => "finished",
        (None, None, true, _) => "idle",
    };
    let workers: Vec<serde_json::Value> = st
        .workers
        .iter()
        .map(|(name, leases, expires)| {
            serde_json::json!({"name": name, "leases": leases, "lease_ends_in_s": expires})
        })
        .collect();
    serde_json::json!({
        "state": state,
        "damaged": st.damaged.as_deref().or(unreadable),
        "queued": st.queued,
        "in_flight": st.in_flight,
        "pages": st.pages,
        "errors": st.errors,
        "items": st.items,
        "seen": st.seen,
        "written": st.written,
        "max_pages": st.max_pages,
        "lost": st.lost,
        "pages_per_sec": st.pages_per_sec,
        "seconds": st.seconds,
        "workers": workers,
        "seeds_ok": st.seeds_ok,
        "seeds_failed": st.seeds_failed,
        "seed_failures": st.seed_failures,
        "redis_used_memory": st.redis_memory.map(|(used, _)| used),
        "redis_maxmemory": st.redis_memory.and_then(|(_, max)| max),
    })
}

/// `delete --redis URL --crawl-id NAME [--force]`.
pub(crate) fn delete(s: &SharedCrawl, force: bool) -> ExitCode {
    match solo_crawl::delete_crawl(&s.redis, &s.crawl_id, force) {
        Ok(d) => {
            sayln!("removed crawl {:?}: {d}", s.crawl_id);
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_numbers_go_before_the_extensions() {
        let n = |p: &str, i| numbered(Path::new(p), i);
        assert_eq!(n("out/pages.jsonl", 2), Path::new("out/pages.2.jsonl"));
        assert_eq!(n("pages", 0), Path::new("pages.0"));
        let w = |p: &str, i| numbered_warc(Path::new(p), i);
        assert_eq!(w("a/crawl.warc.gz", 3), Path::new("a/crawl.3.warc.gz"));
        assert_eq!(w("crawl.warc", 0), Path::new("crawl.0.warc"));
        assert_eq!(w("crawl.gz", 1), Path::new("crawl.1.warc.gz"));
        assert_eq!(w("crawl", 1), Path::new("crawl.1.warc"));
        // Each worker's files: the number, then the file's own.
        let files = |p: &str, i| crate::WarcOutput::new(w(p, i)).file_name(0);
        assert_eq!(files("crawl.gz", 1), Path::new("crawl.1-00000.warc.gz"));
        assert_eq!(files("crawl", 1), Path::new("crawl.1-00000.warc"));
    }

    #[test]
    fn worker_i_gets_numbered_files_and_metrics_port_plus_i() {
        let at = |a: &str| Own {
            observability: Observability {
                metrics: Some(a.parse().unwrap()),
                stats_file: Some("s/stats.json".into()),
                ..Observability::default()
            },
            proxy: Some("http://u:p@127.0.0.1:3128".into()),
            noproxy: Some("internal.test".into()),
            max_time: Some(Duration::from_secs(1800)),
            ..Own::default()
        };
        let w = at("127.0.0.1:9000")
            .numbered(Path::new("p.jsonl"), 2)
            .unwrap();
        let o = &w.observability;
        assert_eq!(o.metrics, Some("127.0.0.1:9002".parse().unwrap()));
        assert_eq!(o.stats_file.as_deref(), Some(Path::new("s/stats.2.json")));
        assert_eq!(o.log_file, None);
        assert!(w.flags().contains(&"--stats-file=s/stats.2.json".into()));
        // Each worker's proxy is its own: passed on (in the environment,
        // its password off the command line), never stored.
        assert_eq!(w.proxy.as_deref(), Some("http://u:p@127.0.0.1:3128"));
        assert!(!w
            .flags()
            .iter()
            .any(|f| f.to_string_lossy().contains("u:p@")));
        assert!(w.flags().contains(&"--noproxy=internal.test".into()));
        let s = CrawlSettings::from_toml("urls = [\"http://a/\"]\nproxy = \"http://u:p@h:1\"", "x")
            .unwrap();
        assert_eq!(s.proxy.as_deref(), Some("http://u:p@h:1"));
        assert_eq!(crawl_wide(&s).proxy, None);
        let s = CrawlSettings::from_toml("urls = [\"http://a/\"]\nnoproxy = \"*\"", "x").unwrap();
        assert_eq!(s.noproxy.as_deref(), Some("*"));
        assert_eq!(crawl_wide(&s).noproxy, None);
        // So is its time limit: slices of a shared crawl may differ.
        assert!(w.flags().contains(&"--max-time=1800s".into()));
        let s = CrawlSettings::from_toml("urls = [\"http://a/\"]\nmax-time = \"1h\"", "x");
        assert_eq!(crawl_wide(&s.unwrap()).max_time, None);
        let any = at("[::1]:0").numbered(Path::new("p"), 5).unwrap();
        assert_eq!(any.observability.metrics, Some("[::1]:0".parse().unwrap()));
        let past = at("127.0.0.1:65535").numbered(Path::new("p"), 1);
        assert!(past.is_err_and(|e| e.contains("past 65535")));
    }

    #[test]
    fn worker_numbers_keep_the_bytes_of_a_name_that_is_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let given = Path::new(std::ffi::OsStr::from_bytes(b"out/\xffw.jsonl"));
        let want = std::ffi::OsStr::from_bytes(b"out/\xffw.2.jsonl");
        assert_eq!(numbered(given, 2).as_os_str(), want);
    }
}
